package report

import (
	"encoding/json"
	"io"

	"github.com/tailgate-dev/tailgate/budget"
)

// JSON writes the result in the versioned report.json schema (budget.Schema).
func JSON(w io.Writer, r *budget.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
