package bundle

import (
	"errors"
	"fmt"
	"regexp"
)

var idPattern = regexp.MustCompile(`^[\w+\-.]+$`)

// ValidateID accepts the container ids runc accepts; an id is never a path.
func ValidateID(id string) error {
	if id == "" {
		return errors.New("container id is empty")
	}
	if id == "." || id == ".." || !idPattern.MatchString(id) {
		return fmt.Errorf("invalid container id %q: use letters, digits, '_', '+', '-' and '.'", id)
	}
	if len(id) > 1024 {
		return fmt.Errorf("invalid container id: longer than 1024 characters")
	}
	return nil
}
