package plain

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// IOErrorText renders a file error the way Rust's io::Error displays an OS
// error ("No such file or directory (os error 2)"), so messages match
// KumoMTA's; other errors render as they are.
func IOErrorText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		text := errno.Error()
		if text != "" {
			text = strings.ToUpper(text[:1]) + text[1:]
		}
		return fmt.Sprintf("%s (os error %d)", text, int(errno))
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
