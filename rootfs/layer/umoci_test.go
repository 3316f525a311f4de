package layer

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// applyWithUmoci builds an OCI image whose first layer is the image
// directory (archived by GNU tar) and whose second is layerTar, and
// unpacks it with umoci: an implementation of layer application,
// whiteouts included, that shares no code with this package. It returns
// the unpacked rootfs.
func applyWithUmoci(t *testing.T, image, layerTar string) string {
	t.Helper()
	for _, tool := range []string{"umoci", "tar"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (Debian package %s); cannot apply the layer independently", tool, tool)
		}
	}
	dir := t.TempDir()
	base := filepath.Join(dir, "base.tar")
	img := filepath.Join(dir, "img")
	rootfs := filepath.Join(dir, "rootfs")
	run := func(name string, args ...string) {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	run("tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-C", image, "-cf", base, ".")
	run("umoci", "init", "--layout", img)
	run("umoci", "new", "--image", img+":t")
	run("umoci", "raw", "add-layer", "--image", img+":t", base)
	run("umoci", "raw", "add-layer", "--image", img+":t", layerTar)
	run("umoci", "raw", "unpack", "--image", img+":t", rootfs)
	if _, err := os.Stat(rootfs); err != nil {
		t.Fatal(err)
	}
	return rootfs
}
