package libcontainer

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// Parent <-> init protocol, after stage 0 (namespaces/nsenter) is done:
//
//	parent                                  init (skiff init)
//	bootstrap{spec, rootfs, ...}      -->
//	                                        mounts, /dev ...
//	                                  <--   hooks       (only if prestart/createRuntime exist)
//	run prestart, createRuntime
//	hooksDone                         -->
//	                                        createContainer hooks, pivot_root,
//	                                        hostname, sysctl, masks
//	                                  <--   ready
//	prlimit, state.json {created}
//	run                               -->
//	                                        user, capabilities, cwd, find args[0]
//	                                  <--   seccompFd   (only with a notify listener)
//	hand the fd to the listener
//	seccompDone                       -->
//	                                  <--   EOF (closes the socket; success)
//	                                        blocks opening exec.fifo
//
// A container that starts at once (run: bootstrap.FifoFD 0) has no exec
// fifo: after run the init runs the startContainer hooks and sends exec
// just before execve, whose close of the socket is the parent's EOF.
//
// Any step may answer `error` instead; the parent reports it and cleans up.
// EOF before `ready` (or after run without a clean close) is a failure.
// Frames are a 4-byte big-endian length and a JSON message (messageHeader),
// or for the bootstrap bootstrapMagic and its binary form (bootcodec.go).

type msgType string

const (
	msgBootstrap msgType = "bootstrap"
	msgHooks     msgType = "hooks"
	msgHooksDone msgType = "hooksDone"
	msgReady     msgType = "ready"
	msgRun       msgType = "run"
	msgError     msgType = "error"
	// The init loaded a seccomp filter with a notify listener: the parent
	// copies fd SeccompFD out of the init (pidfd_getfd), hands it to the
	// listener, and answers seccompDone.
	msgSeccompFD msgType = "seccompFd"
	// A terminal's master fd follows as one byte with SCM_RIGHTS.
	msgPty         msgType = "pty"
	msgSeccompDone msgType = "seccompDone"
	// The init of a container that starts at once (run) is about to
	// execve; the socket closing next means it did.
	msgExec msgType = "exec"
)

type message struct {
	Type      msgType
	Error     string
	Bootstrap *bootstrap // sent in its own binary form (bootcodec.go)
	SeccompFD int
	PtyName   string
}

// messageHeader is the JSON form of every message but the bootstrap.
// encoding/json builds the encoder of every type a struct can hold, so
// encoding or decoding a message type that holds the bootstrap, even
// nil, would walk the whole runtime-spec type tree: about 0.5 ms of CPU
// in a process that has not done it yet.
type messageHeader struct {
	Type      msgType `json:"type"`
	Error     string  `json:"error,omitempty"`
	SeccompFD int     `json:"seccompFd,omitempty"`
	PtyName   string  `json:"ptyName,omitempty"`
}

const maxFrame = 16 << 20

func writeMsg(w io.Writer, m message) error {
	var data []byte
	var err error
	if m.Bootstrap == nil {
		data, err = json.Marshal(messageHeader{Type: m.Type, Error: m.Error, SeccompFD: m.SeccompFD, PtyName: m.PtyName})
	} else {
		data, err = encodeBootstrap(m.Bootstrap)
	}
	if err != nil {
		return err
	}
	buf := make([]byte, 4+len(data))
	binary.BigEndian.PutUint32(buf, uint32(len(data)))
	copy(buf[4:], data)
	_, err = w.Write(buf)
	return err
}

func readMsg(r io.Reader) (message, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return message{}, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxFrame {
		return message{}, fmt.Errorf("sync message of %d bytes is too large", n)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return message{}, err
	}
	if len(data) > 0 && data[0] == bootstrapMagic {
		b, err := decodeBootstrap(data)
		if err != nil {
			return message{}, err
		}
		return message{Type: msgBootstrap, Bootstrap: b}, nil
	}
	var h messageHeader
	if err := json.Unmarshal(data, &h); err != nil {
		return message{}, fmt.Errorf("decode sync message: %w", err)
	}
	return message{Type: h.Type, Error: h.Error, SeccompFD: h.SeccompFD, PtyName: h.PtyName}, nil
}

// expectMsg reads one message and checks its type; an error message from
// the other side becomes the returned error.
func expectMsg(r io.Reader, want msgType) (message, error) {
	return expectMsgOr(r, want, nil)
}

// expectMsgOr is expectMsg that also lets onPty take a terminal arriving
// first.
func expectMsgOr(r io.Reader, want msgType, onPty func(m message) error) (message, error) {
	m, err := readMsg(r)
	for err == nil && m.Type == msgPty && onPty != nil {
		if err = onPty(m); err == nil {
			m, err = readMsg(r)
		}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return m, fmt.Errorf("container init exited before %s", want)
	}
	if err != nil {
		return m, err
	}
	if m.Type == msgError {
		return m, errors.New(m.Error)
	}
	if m.Type != want {
		return m, fmt.Errorf("sync: expected %s, got %s", want, m.Type)
	}
	return m, nil
}

// syncFile wraps the inherited socket in the init.
func syncFile(fd int) *os.File { return os.NewFile(uintptr(fd), "sync") }
