package layer

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// The OCI layer names for a deletion and for a directory whose lower
// content is hidden.
const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// whiteoutEntry is the tar name that deletes rel from the layers below.
func whiteoutEntry(rel string) string {
	dir, name := splitRel(rel)
	return joinRel(dir, whiteoutPrefix+name)
}

// opaqueEntry is the tar name that hides everything the layers below have
// inside directory rel.
func opaqueEntry(rel string) string { return joinRel(rel, opaqueMarker) }

func commitTar(upper tree, lowers []tree, upperDir, dest string, compress bool) (err error) {
	f, err := os.CreateTemp(filepath.Dir(dest), tempPattern(dest))
	if err != nil {
		return fmt.Errorf("create commit file beside %q: %w", dest, err)
	}
	tmp := f.Name()
	defer func() {
		if f != nil {
			f.Close()
		}
		if err != nil {
			os.Remove(tmp)
		}
	}()
	// Others read layers; CreateTemp makes the file private.
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("set mode of %q: %w", tmp, err)
	}
	var out io.Writer = f
	var zw *gzip.Writer
	if compress {
		zw = gzip.NewWriter(f) // no name or mtime in the header: same input, same bytes
		out = zw
	}
	if err := writeLayer(out, upper, lowers, upperDir); err != nil {
		return err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return fmt.Errorf("compress %q: %w", tmp, err)
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %q: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		f = nil
		return fmt.Errorf("write %q: %w", tmp, err)
	}
	f = nil
	return publish(tmp, dest)
}

// writeLayer writes the OCI layer tar of upper's changes over lowers.
func writeLayer(w io.Writer, upper tree, lowers []tree, upperDir string) error {
	tw := tar.NewWriter(w)
	lw := layerWriter{tw: tw, root: upperDir, links: map[inode]string{}}
	if err := walkChanges(upper, lowers, lw.event); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("finish layer tar: %w", err)
	}
	return nil
}

// inode identifies a file for hardlink detection.
type inode struct{ dev, ino uint64 }

type layerWriter struct {
	tw    *tar.Writer
	root  string
	links map[inode]string // first tar name of each multiply linked file
}

func (lw *layerWriter) event(ev event) error {
	switch ev.what {
	case evEntry:
		return lw.entry(ev.rel)
	case evOpaque:
		return lw.marker(opaqueEntry(ev.rel))
	case evDeleted:
		if ev.covered {
			return nil
		}
		return lw.marker(whiteoutEntry(ev.rel))
	}
	return nil
}

// marker writes an empty whiteout file. Its metadata carries nothing, so
// it is fixed to keep the tar deterministic.
func (lw *layerWriter) marker(name string) error {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o600, ModTime: time.Unix(0, 0)}
	if err := lw.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write layer entry %q: %w", name, err)
	}
	return nil
}

func (lw *layerWriter) entry(rel string) error {
	path := filepath.Join(lw.root, filepath.FromSlash(rel))
	fi, st, err := lstat(path)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSocket != 0 {
		return nil
	}
	hdr := &tar.Header{
		Name:    rel,
		Mode:    int64(st.Mode & 0o7777),
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		ModTime: time.Unix(st.Mtim.Sec, 0),
	}
	var content bool
	switch mode := fi.Mode(); {
	case mode.IsDir():
		hdr.Typeflag, hdr.Name = tar.TypeDir, rel+"/"
	case mode.IsRegular():
		key := inode{dev: st.Dev, ino: st.Ino}
		if first, ok := lw.links[key]; ok {
			hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
			break
		}
		if st.Nlink > 1 {
			lw.links[key] = rel
		}
		hdr.Typeflag, hdr.Size, content = tar.TypeReg, fi.Size(), true
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(path)
		if err != nil {
			return fmt.Errorf("read symlink %q: %w", path, err)
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
	case mode&fs.ModeNamedPipe != 0:
		hdr.Typeflag = tar.TypeFifo
	case mode&fs.ModeDevice != 0:
		hdr.Typeflag = tar.TypeBlock
		if mode&fs.ModeCharDevice != 0 {
			hdr.Typeflag = tar.TypeChar
		}
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	default:
		return fmt.Errorf("%q has a file type a layer cannot hold (%v)", path, mode.Type())
	}
	xattrs, err := listXattrs(path)
	if err != nil {
		return err
	}
	for _, x := range xattrs {
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords["SCHILY.xattr."+x.Name] = string(x.Value)
	}
	if err := lw.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write layer entry for %q: %w", path, err)
	}
	if content {
		return lw.copyContent(path, fi.Size())
	}
	return nil
}

func (lw *layerWriter) copyContent(path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open %q: %w", path, err)
	}
	defer f.Close()
	// Exactly the size in the header: a file growing under a running
	// container must not corrupt the tar.
	n, err := io.Copy(lw.tw, io.LimitReader(f, size))
	if err != nil {
		return fmt.Errorf("copy %q into the layer: %w", path, err)
	}
	if n != size {
		return fmt.Errorf("copy %q into the layer: it shrank from %d to %d bytes while being read", path, size, n)
	}
	return nil
}
