package httpapi

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"strings"

	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// Texts of the publish route's answers.
const (
	ContentTypeText  = "Expected request with `Content-Type: application/json`"
	BodyErrorPrefix  = "Failed to buffer the request body: "
	TooLargeText     = BodyErrorPrefix + "length limit exceeded"
	JSONSyntaxPrefix = "Failed to parse the request body as JSON: "
	DecodePrefix     = "Failed to deserialize the JSON body into the target type: "
	QueueFullText    = "ingest queue is full, try again later"
	ShuttingDownText = "shutting down, try again later"
)

// isJSON accepts application/json and application/*+json, with parameters.
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	typ, sub, ok := strings.Cut(mt, "/")
	return ok && typ == "application" && (sub == "json" || strings.HasSuffix(sub, "+json"))
}

// ReadJSON reads a JSON request body as KumoMTA's JSON extractor does:
// 415 without a JSON Content-Type, 413 over the body limit, 400 on a body
// that cannot be read or is not JSON (the answer is written and ok is
// false); otherwise the parsed body (plain data, objects unordered) and
// its text. A handler answers a body of the wrong shape with 422 and
// DecodePrefix.
func ReadJSON(w http.ResponseWriter, r *http.Request, limit int64) (v any, body []byte, ok bool) {
	if !isJSON(r.Header.Get("Content-Type")) {
		writeText(w, http.StatusUnsupportedMediaType, ContentTypeText)
		return nil, nil, false
	}
	data, err := ReadBody(r, limit)
	if err != nil {
		if IsTooLarge(err) {
			writeText(w, http.StatusRequestEntityTooLarge, TooLargeText)
			return nil, nil, false
		}
		writeText(w, http.StatusBadRequest, BodyErrorPrefix+err.Error())
		return nil, nil, false
	}
	v, _, err = plain.ParseJSON(data, plain.ParseOptions{})
	if err != nil {
		writeText(w, http.StatusBadRequest, JSONSyntaxPrefix+err.Error())
		return nil, nil, false
	}
	return v, data, true
}

// publish is POST /publish_log_v1: one JSON log record, queued, 200 with
// an empty body. See the package's tests for every other answer.
func (s *Server) publish(w http.ResponseWriter, r *http.Request) {
	m := s.cfg.Metrics
	if !isJSON(r.Header.Get("Content-Type")) {
		m.Rejected(RejectContentType)
		writeText(w, http.StatusUnsupportedMediaType, ContentTypeText)
		return
	}
	data, err := ReadBody(r, s.cfg.RequestBodyLimit)
	if err != nil {
		if IsTooLarge(err) {
			m.Rejected(RejectTooLarge)
			writeText(w, http.StatusRequestEntityTooLarge, TooLargeText)
			return
		}
		m.Rejected(RejectBadBody)
		writeText(w, http.StatusBadRequest, BodyErrorPrefix+err.Error())
		return
	}
	raw, _, err := plain.ParseJSON(data, plain.ParseOptions{})
	if err != nil {
		m.Rejected(RejectJSONSyntax)
		writeText(w, http.StatusBadRequest, JSONSyntaxPrefix+err.Error())
		return
	}
	rec, err := logrecord.Decode(raw)
	if err != nil {
		m.Rejected(RejectDecode)
		writeText(w, http.StatusUnprocessableEntity, DecodePrefix+err.Error())
		return
	}
	ctx := r.Context()
	if s.cfg.EnqueueTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.EnqueueTimeout)
		defer cancel()
	}
	switch err := s.cfg.Ingester.Enqueue(ctx, rec); {
	case err == nil:
		m.Received()
		w.WriteHeader(http.StatusOK)
	case errors.Is(err, ErrClosed):
		m.Rejected(RejectShuttingDown)
		writeText(w, http.StatusServiceUnavailable, ShuttingDownText)
	case r.Context().Err() != nil:
		// The client gave up while the queue was full: the record was not
		// queued and nobody reads an answer; kumod will send it again.
		m.Rejected(RejectClientGone)
	default:
		m.Rejected(RejectQueueTimeout)
		writeText(w, http.StatusServiceUnavailable, QueueFullText)
	}
}
