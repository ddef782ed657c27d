package metrics

import (
	gometrics "github.com/hashicorp/go-metrics/compat"
	gmprom "github.com/hashicorp/go-metrics/compat/prometheus"
	"github.com/prometheus/client_golang/prometheus"
)

// raftSummaries and raftCounters are the raft figures declared at start,
// so that they are there (at zero) before raft first emits them.
var (
	raftSummaries = [][]string{
		{"raft", "commitTime"},
		{"raft", "fsm", "apply"},
		{"raft", "fsm", "applyBatch"},
		{"raft", "fsm", "snapshot"},
		{"raft", "fsm", "restore"},
		{"raft", "snapshot", "create"},
		{"raft", "snapshot", "persist"},
	}
	raftCounters = [][]string{
		{"raft", "apply"},
		{"raft", "state", "leader"},
		{"raft", "state", "candidate"},
		{"raft", "state", "follower"},
	}
)

// serviceName prefixes every go-metrics key, so raft.fsm.apply is
// exported as walkerd_raft_fsm_apply.
const serviceName = "walkerd"

// RaftSink holds what hashicorp/raft emits through go-metrics, for a
// registry to export (Options.RaftSink).
type RaftSink struct{ c prometheus.Collector }

// InstallRaftSink makes a go-metrics prometheus sink go-metrics' global
// sink, where hashicorp/raft emits: call it before store.Open, so that
// raft's first figures (its first state changes) are kept. It is
// process-wide: the last sink installed gets raft's figures. go-metrics'
// own runtime figures and host-name prefixes are off (the Go collector
// has the runtime's).
func InstallRaftSink() (*RaftSink, error) {
	opts := gmprom.PrometheusOpts{
		// Never expire: a snapshot's duration stays visible until the next.
		Expiration: 0,
		// The sink registers itself; New registers it again where it is
		// exported.
		Registerer: prometheus.NewRegistry(),
		Name:       "walkerd_raft_sink",
	}
	for _, k := range raftSummaries {
		opts.SummaryDefinitions = append(opts.SummaryDefinitions, gmprom.SummaryDefinition{
			Name: append([]string{serviceName}, k...), Help: "hashicorp/raft's " + join(k) + ", milliseconds",
		})
	}
	for _, k := range raftCounters {
		opts.CounterDefinitions = append(opts.CounterDefinitions, gmprom.CounterDefinition{
			Name: append([]string{serviceName}, k...), Help: "hashicorp/raft's " + join(k),
		})
	}
	sink, err := gmprom.NewPrometheusSinkFrom(opts)
	if err != nil {
		return nil, err
	}
	conf := gometrics.DefaultConfig(serviceName)
	conf.EnableHostname = false
	conf.EnableHostnameLabel = false
	conf.EnableRuntimeMetrics = false
	if _, err = gometrics.NewGlobal(conf, peerNameFilter{sink}); err != nil {
		return nil, err
	}
	return &RaftSink{c: sink}, nil
}

func join(k []string) string {
	s := k[0]
	for _, p := range k[1:] {
		s += "." + p
	}
	return s
}

// peerNameFilter drops the per-peer figures raft emits twice, once with a
// peer_id label and once with the peer's id in the name
// (raft.replication.heartbeat.<id>): the second kind would make a metric
// name per peer. It drops raft.peers too, whose name the collector has.
type peerNameFilter struct{ gometrics.MetricSink }

// legacyPeer reports whether key is raft.replication.X.<peer> or
// raft.replication.appendEntries.{rpc,logs}.<peer>, after the service
// name.
func legacyPeer(key []string) bool {
	if len(key) > 0 && key[0] == serviceName {
		key = key[1:]
	}
	if len(key) < 4 || key[0] != "raft" || key[1] != "replication" {
		return false
	}
	switch key[2] {
	case "heartbeat", "installSnapshot":
		return len(key) == 4
	case "appendEntries":
		return len(key) == 5
	}
	return false
}

// SetGauge drops raft.peers: walkerd_raft_peers is the collector's
// (other voters, as raft.Stats counts them).
func (f peerNameFilter) SetGauge(key []string, val float32) {
	if !isPeers(key) {
		f.MetricSink.SetGauge(key, val)
	}
}

func (f peerNameFilter) SetGaugeWithLabels(key []string, val float32, labels []gometrics.Label) {
	if !isPeers(key) {
		f.MetricSink.SetGaugeWithLabels(key, val, labels)
	}
}

func isPeers(key []string) bool {
	return len(key) == 3 && key[0] == serviceName && key[1] == "raft" && key[2] == "peers"
}

func (f peerNameFilter) IncrCounter(key []string, val float32) {
	if !legacyPeer(key) {
		f.MetricSink.IncrCounter(key, val)
	}
}

func (f peerNameFilter) IncrCounterWithLabels(key []string, val float32, labels []gometrics.Label) {
	if len(labels) > 0 || !legacyPeer(key) {
		f.MetricSink.IncrCounterWithLabels(key, val, labels)
	}
}

func (f peerNameFilter) AddSample(key []string, val float32) {
	if !legacyPeer(key) {
		f.MetricSink.AddSample(key, val)
	}
}

func (f peerNameFilter) AddSampleWithLabels(key []string, val float32, labels []gometrics.Label) {
	if len(labels) > 0 || !legacyPeer(key) {
		f.MetricSink.AddSampleWithLabels(key, val, labels)
	}
}
