package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// log writes runc-shaped log lines: text, or JSON objects shaped like
// logrus's (lowercase level, msg, RFC 3339 time), which containerd parses.
type log struct {
	w     io.Writer
	json  bool
	debug bool
}

var logger = &log{w: os.Stderr}

func openLog(path, format string, debug bool) error {
	switch format {
	case "text", "":
	case "json":
		logger.json = true
	default:
		return fmt.Errorf("--log-format: unknown format %q (text or json)", format)
	}
	logger.debug = debug
	if path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_SYNC, 0o644)
		if err != nil {
			return fmt.Errorf("--log: open %q: %w", path, err)
		}
		logger.w = f
	}
	return nil
}

func (l *log) write(level, msg string) {
	now := time.Now().Format(time.RFC3339Nano)
	if l.json {
		line, _ := json.Marshal(struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Time  string `json:"time"`
		}{level, msg, now})
		l.w.Write(append(line, '\n'))
		return
	}
	fmt.Fprintf(l.w, "time=%q level=%s msg=%q\n", now, level, msg)
}

func (l *log) Warnf(format string, args ...any) { l.write("warning", fmt.Sprintf(format, args...)) }

func (l *log) Debugf(format string, args ...any) {
	if l.debug {
		l.write("debug", fmt.Sprintf(format, args...))
	}
}

// reportError prints a failed command's error: one sentence on stderr
// (what conmon and people read) and an error line in the log.
func reportError(err error) {
	if _, ok := err.(exitError); ok {
		return
	}
	msg := strings.TrimSpace(err.Error())
	fmt.Fprintf(os.Stderr, "skiff: %s\n", msg)
	if logger.w != os.Stderr {
		logger.write("error", msg)
	}
}
