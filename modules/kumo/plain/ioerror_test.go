package plain

import (
	"os"
	"testing"
)

func TestIOErrorText(t *testing.T) {
	_, err := os.ReadFile("/definitely/not/here")
	if got, want := IOErrorText(err), "No such file or directory (os error 2)"; got != want {
		t.Errorf("missing file: %q, want %q", got, want)
	}
	_, err = os.ReadFile(t.TempDir())
	if got, want := IOErrorText(err), "Is a directory (os error 21)"; got != want {
		t.Errorf("directory: %q, want %q", got, want)
	}
}
