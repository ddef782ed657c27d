package main

import (
	"strings"
	"testing"
)

const sampleInfo = "# Persistence\r\nloading:0\r\nengine_bytes:2048\r\n\r\n# Keyspace\r\ndb0:keys=3,expires=0,avg_ttl=0\r\ndb5:keys=2,expires=0,avg_ttl=0\r\n\r\n# Raft\r\nraft_node_id:node1\r\nraft_member0:id=node1,raft=127.0.0.1:1,resp=127.0.0.1:2,role=leader,suffrage=voter\r\n"

func TestParseInfo_ReadsSectionsFieldsAndKeys(t *testing.T) {
	in := parseInfo(sampleInfo)
	if len(in.sections) != 3 || in.sections[2].name != "Raft" {
		t.Fatalf("sections: %+v", in.sections)
	}
	if got := in.int("engine_bytes"); got != 2048 {
		t.Errorf("engine_bytes = %d", got)
	}
	if got := in.keys(); got != 5 {
		t.Errorf("keys = %d, want 5 (db0 and db5)", got)
	}
	if v, _ := in.field("Raft", "raft_member0"); v != "id=node1,raft=127.0.0.1:1,resp=127.0.0.1:2,role=leader,suffrage=voter" {
		t.Errorf("a value with colons and commas: %q", v)
	}
	m := in.jsonMap()
	if m["raft"]["raft_node_id"] != "node1" || m["keyspace"]["db5"] == "" {
		t.Errorf("jsonMap: %v", m)
	}
}

func TestInfo_SideBySidePutsMembersInColumns(t *testing.T) {
	var out strings.Builder
	ms := []member{{ID: "node1"}, {ID: "node2"}}
	writeSideBySide(&opts{stdout: &out}, ms, []probeResult{{info: parseInfo(sampleInfo)}, {err: errNoRESPAddr}})
	want := `FIELD          node1                                                                  node2
# Persistence                                                                         (unreachable)
loading        0
engine_bytes   2048
# Keyspace
db0            keys=3,expires=0,avg_ttl=0
db5            keys=2,expires=0,avg_ttl=0
# Raft
raft_node_id   node1
raft_member0   id=node1,raft=127.0.0.1:1,resp=127.0.0.1:2,role=leader,suffrage=voter

node2: its RESP address is not recorded yet (still being recorded just after a cluster starts), so it cannot be asked
`
	if got := out.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
