package bundle

import (
	"encoding/json"
	"testing"

	"github.com/skiff-runtime/skiff/libcontainer/specdefault"
)

// FuzzParse: no config.json may make the loader panic.
func FuzzParse(f *testing.F) {
	data, _ := json.Marshal(specdefault.New())
	f.Add(data)
	f.Add([]byte(`{"ociVersion":"1.0.0","process":{"args":["a"],"cwd":"/"},"root":{"path":"r"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		Parse(data)
	})
}
