package kumod

import (
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// RedisThrottles is the parameter table of kumo.configure_redis_throttles
// (KumoMTA's RedisConnKey). Like KumoMTA, keys it does not know are
// ignored.
type RedisThrottles struct {
	Nodes            []string // one URL for a single node; the cluster's URLs
	ClusterList      bool     // node was given as a list
	ReadFromReplicas bool
	Username         *string
	Password         *string
	Cluster          *bool // default: true when node is a list
	PoolSize         *uint64
	ConnectTimeout   *time.Duration
	RecycleTimeout   *time.Duration
	WaitTimeout      *time.Duration
	ResponseTimeout  *time.Duration
}

// IsCluster reports whether KumoMTA would build a cluster client.
func (r *RedisThrottles) IsCluster() bool {
	if r.Cluster != nil {
		return *r.Cluster
	}
	return r.ClusterList
}

var redisThrottlesSchema = plain.NewSchema("RedisConnKey", true,
	plain.Field[RedisThrottles]{Name: "node", Required: true, Decode: func(r *RedisThrottles, v any) error {
		switch x := v.(type) {
		case string:
			r.Nodes = []string{x}
			return nil
		case []any:
			nodes := make([]string, 0, len(x))
			for _, e := range x {
				s, ok := e.(string)
				if !ok {
					return plain.UntaggedMismatch("NodeSpec", "expected a URL string or a list of URL strings")
				}
				nodes = append(nodes, s)
			}
			r.Nodes, r.ClusterList = nodes, true
			return nil
		}
		return plain.UntaggedMismatch("NodeSpec", "expected a URL string or a list of URL strings")
	}},
	plain.BoolField("read_from_replicas", func(r *RedisThrottles) *bool { return &r.ReadFromReplicas }),
	plain.OptStringField("username", func(r *RedisThrottles) **string { return &r.Username }),
	plain.OptStringField("password", func(r *RedisThrottles) **string { return &r.Password }),
	plain.OptBoolField("cluster", func(r *RedisThrottles) **bool { return &r.Cluster }),
	plain.OptUintField("pool_size", 64, func(r *RedisThrottles) **uint64 { return &r.PoolSize }),
	plain.OptDurationField("connect_timeout", func(r *RedisThrottles) **time.Duration { return &r.ConnectTimeout }),
	plain.OptDurationField("recycle_timeout", func(r *RedisThrottles) **time.Duration { return &r.RecycleTimeout }),
	plain.OptDurationField("wait_timeout", func(r *RedisThrottles) **time.Duration { return &r.WaitTimeout }),
	plain.OptDurationField("response_timeout", func(r *RedisThrottles) **time.Duration { return &r.ResponseTimeout }),
).IgnoreUnknown().InKeyOrder()

// DecodeRedisThrottles decodes and checks the parameters of
// kumo.configure_redis_throttles. Nothing is connected.
func DecodeRedisThrottles(v any) (*RedisThrottles, error) {
	r := &RedisThrottles{}
	if err := redisThrottlesSchema.Decode(r, v); err != nil {
		return nil, wrapDeserialize(err, v)
	}
	if len(r.Nodes) == 0 {
		return nil, fmt.Errorf("kumo.configure_redis_throttles: building redis client: node lists no redis URL")
	}
	for _, n := range r.Nodes {
		if err := checkRedisURL(n, r.IsCluster()); err != nil {
			return nil, fmt.Errorf("kumo.configure_redis_throttles: building redis client: %w", err)
		}
	}
	return r, nil
}

// checkRedisURL checks a node URL as the redis client would parse it:
// redis:// or rediss:// (or valkey:// and valkeys://) with a host, or a
// unix socket path (redis+unix://, valkey+unix://, unix://), which a
// cluster cannot use.
func checkRedisURL(s string, cluster bool) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("invalid redis URL %q: %v", s, err)
	}
	switch u.Scheme {
	case "redis", "rediss", "valkey", "valkeys":
		if u.Hostname() == "" {
			return fmt.Errorf("invalid redis URL %q: missing host", s)
		}
		if p := u.Port(); p != "" {
			if _, err := strconv.ParseUint(p, 10, 16); err != nil {
				return fmt.Errorf("invalid redis URL %q: invalid port %q", s, p)
			}
		}
	case "redis+unix", "valkey+unix", "unix":
		if cluster {
			return fmt.Errorf("invalid redis URL %q: a cluster node needs a TCP URL", s)
		}
		if u.Path == "" {
			return fmt.Errorf("invalid redis URL %q: missing socket path", s)
		}
	default:
		return fmt.Errorf("invalid redis URL %q: the scheme must be redis, rediss, redis+unix or unix", s)
	}
	return nil
}

// Data renders the parameters as plain data; the password (also one
// embedded in a URL) is redacted.
func (r *RedisThrottles) Data() map[string]any {
	nodes := make([]any, len(r.Nodes))
	for i, n := range r.Nodes {
		nodes[i] = redactURL(n)
	}
	m := map[string]any{"read_from_replicas": r.ReadFromReplicas, "cluster": r.IsCluster()}
	if r.ClusterList {
		m["node"] = nodes
	} else {
		m["node"] = nodes[0]
	}
	putOpt(m, "username", r.Username)
	if r.Password != nil {
		m["password"] = redacted
	}
	putUint(m, "pool_size", r.PoolSize)
	putDuration(m, "connect_timeout", r.ConnectTimeout)
	putDuration(m, "recycle_timeout", r.RecycleTimeout)
	putDuration(m, "wait_timeout", r.WaitTimeout)
	putDuration(m, "response_timeout", r.ResponseTimeout)
	return m
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
		return u.String()
	}
	return s
}
