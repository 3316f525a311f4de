// Package layer manages a container's copy-on-write writable layer: an
// overlayfs upper and work directory kept under a data root, the overlay
// mount options that make the upper directory a faithful record of what the
// container changed, and the tools that read that record back: Diff lists
// the changes, Commit writes them as an OCI image layer tarball or as a new
// rootfs directory, and Discard removes the layer.
//
// Overlay is mounted with index=off, redirect_dir=off and metacopy=off, so
// every change the container makes is a whole entry in the upper directory:
// a new or copied-up file, a whiteout for a deletion, or a directory marked
// opaque when it replaced a lower one. Nothing here ever writes to the
// lower directories or to the upper directory of a layer.
//
// What the functions report is what the container sees: a file copied up
// from a lower layer loses its hardlinks to the lower copies (index=off), so
// a diff shows only the path the container wrote, and a commit records it as
// a separate file.
package layer
