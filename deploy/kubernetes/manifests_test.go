package kubernetes

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/tailgate-dev/tailgate/scenario"
)

// manifests are the objects of deploy/kubernetes, decoded strictly: an
// unknown or misspelt field anywhere is an error, as `kubectl apply
// --validate=strict` would make it.
type manifests struct {
	jobs       map[string]*batchv1.Job
	configMaps map[string]*corev1.ConfigMap
	pvcs       map[string]*corev1.PersistentVolumeClaim
	services   map[string]*corev1.Service
	deploys    map[string]*appsv1.Deployment
}

func load(t *testing.T) *manifests {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests found: %v", err)
	}
	m := &manifests{
		jobs:       map[string]*batchv1.Job{},
		configMaps: map[string]*corev1.ConfigMap{},
		pvcs:       map[string]*corev1.PersistentVolumeClaim{},
		services:   map[string]*corev1.Service{},
		deploys:    map[string]*appsv1.Deployment{},
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range documents(data) {
			where := fmt.Sprintf("%s document %d", f, i+1)
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			var name string
			switch gvk := tm.APIVersion + " " + tm.Kind; gvk {
			case "batch/v1 Job":
				name = decode(t, where, doc, m.jobs)
			case "v1 ConfigMap":
				name = decode(t, where, doc, m.configMaps)
			case "v1 PersistentVolumeClaim":
				name = decode(t, where, doc, m.pvcs)
			case "v1 Service":
				name = decode(t, where, doc, m.services)
			case "apps/v1 Deployment":
				name = decode(t, where, doc, m.deploys)
			default:
				t.Fatalf("%s: unexpected kind %q", where, gvk)
			}
			if name == "" {
				t.Errorf("%s: no metadata.name", where)
			}
		}
	}
	return m
}

// documents splits a multi-document YAML file, dropping empty documents.
func documents(data []byte) [][]byte {
	var out [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		if strings.TrimSpace(stripComments(d)) != "" {
			out = append(out, []byte(d))
		}
	}
	return out
}

func stripComments(s string) string {
	var b strings.Builder
	for l := range strings.Lines(s) {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l)
		}
	}
	return b.String()
}

// decode strictly decodes doc into a new T filed under its name.
func decode[T any, PT interface {
	*T
	GetName() string
}](t *testing.T, where string, doc []byte, into map[string]PT) string {
	t.Helper()
	obj := PT(new(T))
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	name := obj.GetName()
	if _, dup := into[name]; dup {
		t.Fatalf("%s: a second object named %q", where, name)
	}
	into[name] = obj
	return name
}

// container returns the pod's container (or init container) called name.
func container(t *testing.T, spec *corev1.PodSpec, name string) *corev1.Container {
	t.Helper()
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range cs {
			if cs[i].Name == name {
				return &cs[i]
			}
		}
	}
	t.Fatalf("no container %q", name)
	return nil
}

// flag returns the value after name in args, "" when it is missing.
func flag(args []string, name string) string {
	i := slices.Index(args, name)
	if i < 0 || i+1 >= len(args) {
		return ""
	}
	return args[i+1]
}

// mountPath returns where the container mounts the volume called name.
func mountPath(t *testing.T, c *corev1.Container, name string) string {
	t.Helper()
	for _, m := range c.VolumeMounts {
		if m.Name == name {
			return m.MountPath
		}
	}
	t.Fatalf("container %s does not mount volume %q", c.Name, name)
	return ""
}

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// checkVarRefs checks that every $(VAR) in the container's command and args
// names a variable of its env: Kubernetes leaves an undefined reference as
// literal text, which tailgate would then read as a path or a shard.
func checkVarRefs(t *testing.T, c *corev1.Container) {
	t.Helper()
	for _, a := range slices.Concat(c.Command, c.Args) {
		for _, m := range varRef.FindAllStringSubmatch(a, -1) {
			if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == m[1] }) {
				t.Errorf("container %s: %q refers to $(%s), which its env does not define", c.Name, a, m[1])
			}
		}
	}
}

// checkVolumes checks that the pod's volumes are the scenario ConfigMap and
// the results claim, both defined in the manifests.
func checkVolumes(t *testing.T, m *manifests, spec *corev1.PodSpec) {
	t.Helper()
	for _, v := range spec.Volumes {
		switch {
		case v.ConfigMap != nil:
			if m.configMaps[v.ConfigMap.Name] == nil {
				t.Errorf("volume %s: no ConfigMap %q in the manifests", v.Name, v.ConfigMap.Name)
			}
		case v.PersistentVolumeClaim != nil:
			if m.pvcs[v.PersistentVolumeClaim.ClaimName] == nil {
				t.Errorf("volume %s: no PersistentVolumeClaim %q in the manifests", v.Name, v.PersistentVolumeClaim.ClaimName)
			}
		default:
			t.Errorf("volume %s: neither the scenario nor the results", v.Name)
		}
	}
}

const (
	shardsJob = "tailgate-shards"
	judgeJob  = "tailgate-judge"
)

func TestShardsJob(t *testing.T) {
	m := load(t)
	job := m.jobs[shardsJob]
	if job == nil {
		t.Fatalf("no Job %s", shardsJob)
	}
	spec := job.Spec
	if spec.CompletionMode == nil || *spec.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("completionMode = %v, want Indexed: each pod needs its own index", spec.CompletionMode)
	}
	if spec.Completions == nil || spec.Parallelism == nil || *spec.Completions != *spec.Parallelism || *spec.Completions < 2 {
		t.Fatalf("completions %v, parallelism %v: want equal and at least 2, so every shard runs at once", spec.Completions, spec.Parallelism)
	}
	n := int(*spec.Completions)
	if spec.BackoffLimitPerIndex == nil || *spec.BackoffLimitPerIndex != 0 {
		t.Errorf("backoffLimitPerIndex = %v, want 0: a retried shard sends late, and one failed shard must not stop the rest", spec.BackoffLimitPerIndex)
	}
	pod := &spec.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy = %q, want Never", pod.RestartPolicy)
	}
	checkVolumes(t, m, pod)

	c := container(t, pod, "tailgate")
	checkVarRefs(t, c)
	args := c.Args
	if len(args) < 2 || args[0] != "run" {
		t.Fatalf("args = %q, want run SCENARIO …", args)
	}
	checkScenarioPath(t, m, pod, c, args[1])
	if got, want := flag(args, "--shard"), fmt.Sprintf("$(JOB_COMPLETION_INDEX)/%d", n); got != want {
		t.Errorf("--shard %q, want %q (N = completions)", got, want)
	}
	if got := flag(args, "--start-at"); got != "$(START_AT)" {
		t.Errorf("--start-at %q, want $(START_AT): every shard starts together", got)
	}
	out := flag(args, "--out")
	if !strings.HasPrefix(out, mountPath(t, c, "results")+"/") || !strings.HasSuffix(out, "/$(JOB_COMPLETION_INDEX)") {
		t.Errorf("--out %q, want a directory per index on the results volume", out)
	}

	index := env(t, c, "JOB_COMPLETION_INDEX")
	if index.ValueFrom == nil || index.ValueFrom.FieldRef == nil ||
		index.ValueFrom.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
		t.Errorf("JOB_COMPLETION_INDEX = %+v, want the job-completion-index annotation", index)
	}
	if v := env(t, c, "START_AT").Value; v != "${START_AT}" {
		t.Errorf("START_AT = %q, want ${START_AT}, filled in by envsubst when applying", v)
	}
}

func env(t *testing.T, c *corev1.Container, name string) corev1.EnvVar {
	t.Helper()
	for _, e := range c.Env {
		if e.Name == name {
			return e
		}
	}
	t.Fatalf("container %s has no env %s", c.Name, name)
	return corev1.EnvVar{}
}

// checkScenarioPath checks that path is the scenario ConfigMap's key as
// mounted in c.
func checkScenarioPath(t *testing.T, m *manifests, pod *corev1.PodSpec, c *corev1.Container, path string) {
	t.Helper()
	for _, v := range pod.Volumes {
		if v.ConfigMap == nil {
			continue
		}
		cm := m.configMaps[v.ConfigMap.Name]
		dir := mountPath(t, c, v.Name)
		key := strings.TrimPrefix(path, dir+"/")
		if cm != nil && key != path {
			if _, ok := cm.Data[key]; !ok {
				t.Errorf("%s: ConfigMap %s has no key %q", path, cm.Name, key)
			}
			return
		}
	}
	t.Errorf("%s is not on a ConfigMap volume of container %s", path, c.Name)
}

func TestJudgeJob(t *testing.T) {
	m := load(t)
	shards, judge := m.jobs[shardsJob], m.jobs[judgeJob]
	if shards == nil || judge == nil {
		t.Fatalf("want Jobs %s and %s", shardsJob, judgeJob)
	}
	n := int(*shards.Spec.Completions)
	pod := &judge.Spec.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy = %q, want Never", pod.RestartPolicy)
	}
	if judge.Spec.BackoffLimit == nil || *judge.Spec.BackoffLimit != 0 {
		t.Errorf("backoffLimit = %v, want 0: the verdict is the exit code, not something to retry", judge.Spec.BackoffLimit)
	}
	if judge.Spec.ActiveDeadlineSeconds == nil {
		t.Errorf("no activeDeadlineSeconds: a shard that never finishes would hold the judge forever")
	}
	checkVolumes(t, m, pod)
	shardOut := flag(container(t, &shards.Spec.Template.Spec, "tailgate").Args, "--out")

	// Wait for every index's report.json: the script loops over 0 … N−1.
	wait := container(t, pod, "wait-for-shards")
	script := strings.Join(wait.Args, " ")
	if want := "for i in " + indices(n) + ";"; !strings.Contains(script, want) {
		t.Errorf("wait-for-shards script %q does not loop over %q", script, want)
	}
	if want := strings.NewReplacer("$(START_AT)", "$START_AT", "$(JOB_COMPLETION_INDEX)", "$i").Replace(shardOut) + "/report.json"; !strings.Contains(script, want) {
		t.Errorf("wait-for-shards script %q does not wait for %s", script, want)
	}
	if pod.InitContainers[0].Name != "wait-for-shards" || pod.InitContainers[1].Name != "merge" {
		t.Errorf("init containers %s, %s: want wait-for-shards, then merge", pod.InitContainers[0].Name, pod.InitContainers[1].Name)
	}

	// Merge exactly the N shards' interval logs.
	merge := container(t, pod, "merge")
	checkVarRefs(t, merge)
	if len(merge.Args) == 0 || merge.Args[0] != "merge" {
		t.Fatalf("merge args %q, want merge A.hlog B.hlog … -o OUT", merge.Args)
	}
	var inputs []string
	for _, a := range merge.Args[1:] {
		if a == "-o" {
			break
		}
		inputs = append(inputs, a)
	}
	var want []string
	for i := range n {
		want = append(want, strings.Replace(shardOut, "$(JOB_COMPLETION_INDEX)", fmt.Sprint(i), 1)+"/run.hlog")
	}
	if !slices.Equal(inputs, want) {
		t.Errorf("merge inputs %q, want every shard's run.hlog %q", inputs, want)
	}
	merged := flag(merge.Args, "-o")

	report := container(t, pod, "report")
	checkVarRefs(t, report)
	if len(report.Args) < 2 || report.Args[0] != "report" || report.Args[1] != merged {
		t.Errorf("report args %q, want report %s --scenario …", report.Args, merged)
	}
	checkScenarioPath(t, m, pod, report, flag(report.Args, "--scenario"))
	for _, c := range []*corev1.Container{wait, merge, report} {
		if c.Name != "wait-for-shards" && c.Image != container(t, &shards.Spec.Template.Spec, "tailgate").Image {
			t.Errorf("container %s runs %s, the shards %s", c.Name, c.Image, container(t, &shards.Spec.Template.Spec, "tailgate").Image)
		}
		if v := env(t, c, "START_AT").Value; v != "${START_AT}" {
			t.Errorf("container %s: START_AT = %q, want ${START_AT}", c.Name, v)
		}
	}
}

func indices(n int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprint(i)
	}
	return strings.Join(s, " ")
}

func TestResultsVolume(t *testing.T) {
	m := load(t)
	for _, pvc := range m.pvcs {
		if !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteMany) {
			t.Errorf("PersistentVolumeClaim %s: access modes %v, want ReadWriteMany: shards on several nodes write at once", pvc.Name, pvc.Spec.AccessModes)
		}
		if pvc.Spec.Resources.Requests.Storage().IsZero() {
			t.Errorf("PersistentVolumeClaim %s requests no storage", pvc.Name)
		}
	}
	if len(m.pvcs) != 1 {
		t.Errorf("%d claims, want one shared results volume", len(m.pvcs))
	}
}

// The scenario in the ConfigMap is a valid scenario, and it targets the demo
// target's Service.
func TestScenarioConfigMap(t *testing.T) {
	m := load(t)
	cm := m.configMaps["tailgate-scenario"]
	if cm == nil {
		t.Fatal("no ConfigMap tailgate-scenario")
	}
	sc, err := scenario.Parse("scenario.yaml", []byte(cm.Data["scenario.yaml"]))
	if err != nil {
		t.Fatalf("the ConfigMap's scenario: %v", err)
	}
	svc, dep := m.services["tailgate-target"], m.deploys["tailgate-target"]
	if svc == nil || dep == nil {
		t.Fatal("no Service and Deployment tailgate-target")
	}
	if len(svc.Spec.Ports) != 1 {
		t.Fatalf("Service ports %v, want one", svc.Spec.Ports)
	}
	if want := fmt.Sprintf("http://%s:%d/", svc.Name, svc.Spec.Ports[0].Port); sc.Target.URL != want {
		t.Errorf("scenario target.url %s, want the demo Service %s", sc.Target.URL, want)
	}
	for k, v := range svc.Spec.Selector {
		if dep.Spec.Template.Labels[k] != v {
			t.Errorf("Service selects %s=%s, the Deployment's pods have %q", k, v, dep.Spec.Template.Labels[k])
		}
	}
	c := container(t, &dep.Spec.Template.Spec, "tailgate")
	if len(c.Args) < 2 || c.Args[0] != "serve" {
		t.Fatalf("target args %q, want serve SCENARIO", c.Args)
	}
	checkScenarioPath(t, m, &dep.Spec.Template.Spec, c, c.Args[1])
	if addr := flag(c.Args, "--addr"); !strings.HasSuffix(addr, fmt.Sprintf(":%d", c.Ports[0].ContainerPort)) {
		t.Errorf("serve --addr %s, the container port %d", addr, c.Ports[0].ContainerPort)
	}
}

// Strict decoding is what catches a misspelt field: prove it does.
func TestStrictDecodingRejectsUnknownFields(t *testing.T) {
	data, err := os.ReadFile("shards-job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(data, []byte("completionMode:"), []byte("completionsMode:"), 1)
	var job batchv1.Job
	if err := yaml.UnmarshalStrict(bad, &job); err == nil {
		t.Error("a misspelt field decoded without error")
	}
}
