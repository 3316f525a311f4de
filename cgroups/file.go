package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// writeFile writes value to the cgroup file dir/name. Every cgroup write
// goes through here so that every failure names the file. The file is never
// created: a cgroup file that does not exist means the kernel lacks the
// feature, and creating a regular file in cgroupfs is impossible anyway.
func writeFile(dir, name, value string) error {
	path := filepath.Join(dir, name)
	// Raw syscalls: os.OpenFile would also set up non-blocking I/O and
	// poller registration, three extra syscalls per cgroup file.
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_TRUNC|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	for err == unix.EINTR {
		fd, err = unix.Open(path, unix.O_WRONLY|unix.O_TRUNC|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// Each write(2) is one cgroup command; a short write would split it,
	// so the value goes in one call.
	_, err = unix.Write(fd, []byte(value))
	for err == unix.EINTR {
		_, err = unix.Write(fd, []byte(value))
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %q: %w", path, value, err)
	}
	return nil
}

// readFile returns the content of dir/name without the trailing newline.
func readFile(dir, name string) (string, error) {
	path := filepath.Join(dir, name)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	defer unix.Close(fd)
	var data []byte
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("read %s: %w", path, err)
		}
		if n == 0 {
			break
		}
		data = append(data, buf[:n]...)
	}
	return strings.TrimRight(string(data), "\n"), nil
}

// readUint reads a file holding one unsigned number; "max" (v2) reads as
// the maximum uint64.
func readUint(dir, name string) (uint64, error) {
	s, err := readFile(dir, name)
	if err != nil {
		return 0, err
	}
	v, err := parseUint(s)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", filepath.Join(dir, name), err)
	}
	return v, nil
}

// parseUint parses a cgroup number: "max" is unlimited, and a negative
// number (v1 reports -1 for unlimited in a few files) is clamped to 0.
func parseUint(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	if s == "max" {
		return ^uint64(0), nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		if i, ierr := strconv.ParseInt(s, 10, 64); ierr == nil && i < 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("parse %q as a number: %w", s, err)
	}
	return v, nil
}

// exists reports whether dir/name exists.
func exists(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, name))
	return err == nil
}

// unwrapPathError drops the *PathError wrapper, whose message repeats the
// path the caller already names.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
