// A stock Node.js HTTP server, for tailgate's tests: it answers every
// request "ok" after reading its body, and closes a kept-alive connection
// idle longer than its keepAliveTimeout (Node's default is 5 s; the test
// sets a shorter one so that its pauses stay short). It prints its port on
// the first line of stdout and exits when stdin closes.
const http = require('http');

const keepAliveMs = parseInt(process.argv[2] || '5000', 10);
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Server-Timing': 'app;dur=1' });
    res.end('ok');
  });
});
server.keepAliveTimeout = keepAliveMs;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(server.address().port + '\n');
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
