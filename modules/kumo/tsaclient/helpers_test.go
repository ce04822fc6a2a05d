package tsaclient

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
)

// rulesTOML holds one default rule: Suspend (and an override) on
// "451 go away".
const rulesTOML = `[["default".automation]]
regex = "451 go away"
action = ["Suspend", {SetConfig={name="max_message_rate", value="3/m"}}]
duration = "1 hour"
`

func loadShaping(t *testing.T, text string) *shaping.Shaping {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rules.toml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := shaping.Load(context.Background(), []string{p}, shaping.DefaultOptions(), shaping.DefaultEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// recordJSON is a complete log record; extra is spliced in after the
// required fields (`,"reception_protocol":"LogRecord"`).
func recordJSON(typ, queue, content string, code int, extra string) []byte {
	ts := time.Now().Unix()
	return []byte(fmt.Sprintf(`{"type":%q,"id":"1d98076abbbc11ed940250ebf67f93bd","sender":"sender@example.com",`+
		`"recipient":"recip@example.com","queue":%q,"site":"source2->example.com@smtp_client","size":1024,`+
		`"response":{"code":%d,"enhanced_code":null,"content":%q,"command":null},`+
		`"timestamp":%d,"created":%d,"num_attempts":1,"bounce_classification":"Uncategorized",`+
		`"egress_source":"source2","meta":{},"headers":{},"nodeid":"557f3ad4-2c8c-11ee-976e-782d1c8d2d5d"%s}`,
		typ, queue, code, content, ts, ts, extra))
}

func parseRecord(t *testing.T, data []byte) *logrecord.Record {
	t.Helper()
	r, err := logrecord.ParseJSON(data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	return r
}
