package dns

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// fakeServer reads one query on a raw UDP socket and answers it with the
// messages reply builds from it, in order.
func fakeServer(t *testing.T, reply func(q *mdns.Msg) []*mdns.Msg) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := new(mdns.Msg)
			if q.Unpack(buf[:n]) != nil {
				continue
			}
			for _, m := range reply(q) {
				b, _ := m.Pack()
				pc.WriteTo(b, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

func mxAnswer(q *mdns.Msg, name, host string) *mdns.Msg {
	m := new(mdns.Msg)
	m.SetReply(q)
	m.Question[0].Name = name
	m.Answer = []mdns.RR{&mdns.MX{Hdr: mdns.RR_Header{Name: name, Rrtype: mdns.TypeMX, Class: mdns.ClassINET, Ttl: 60}, Preference: 10, Mx: host}}
	return m
}

// Over UDP, datagrams that are not the answer to the query (another ID, or
// the right ID for another question: a late answer to an earlier query, a
// spoof) are skipped, and the real answer is read.
func TestExchangeSkipsDatagramsThatDoNotAnswer(t *testing.T) {
	addr := fakeServer(t, func(q *mdns.Msg) []*mdns.Msg {
		name := q.Question[0].Name
		wrongID := mxAnswer(q, name, "wrong-id.test.")
		wrongID.Id = q.Id + 1
		wrongName := mxAnswer(q, "other.test.", "wrong-name.test.")
		notReply := mxAnswer(q, name, "not-a-reply.test.")
		notReply.Response = false
		return []*mdns.Msg{wrongID, wrongName, notReply, mxAnswer(q, "EXAMPLE.test.", "right.test.")}
	})
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	q := new(mdns.Msg)
	q.SetQuestion("example.test.", mdns.TypeMX)
	resp, clean, err := exchangeOn(context.Background(), &mdns.Conn{Conn: conn}, q, time.Now().Add(5*time.Second))
	if err != nil || !clean {
		t.Fatal(clean, err)
	}
	if len(resp.Answer) != 1 || resp.Answer[0].(*mdns.MX).Mx != "right.test." {
		t.Fatalf("answer %v", resp.Answer)
	}
}

// Ending ctx interrupts the wait for an answer that never comes.
func TestExchangeEndsWithTheContext(t *testing.T) {
	addr := fakeServer(t, func(*mdns.Msg) []*mdns.Msg { return nil })
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	q := new(mdns.Msg)
	q.SetQuestion("example.test.", mdns.TypeMX)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	done := make(chan error, 1)
	go func() {
		_, clean, err := exchangeOn(ctx, &mdns.Conn{Conn: conn}, q, time.Now().Add(time.Hour))
		if clean {
			err = errors.New("an interrupted connection is reported clean")
		}
		done <- err
	}()
	select {
	case err := <-done:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the exchange did not end with its context")
	}
}
