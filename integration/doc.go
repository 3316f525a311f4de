// Package integration holds skiff's end-to-end tests: they run the real
// binary, as root, on busybox-static bundles and check what the container
// saw. They are behind the `integration` build tag:
//
//	make build && go test -tags integration -count=1 ./integration/
//
// Env: SKIFF_BINARY (default <repo>/bin/skiff), SKIFF_TEST_BUSYBOX (default
// /bin/busybox, must be statically linked). Without root every test skips.
package integration
