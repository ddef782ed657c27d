package tlsconf

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// opensslSuites maps OpenSSL's names of TLS 1.2 (and older) cipher suites to
// Go's, for every suite Go implements (secure and insecure alike: a user who
// names an insecure suite asked for it, as with OpenSSL).
var opensslSuites = map[string]uint16{
	"ECDHE-ECDSA-AES128-GCM-SHA256": tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-RSA-AES128-GCM-SHA256":   tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES256-GCM-SHA384": tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-RSA-AES256-GCM-SHA384":   tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-CHACHA20-POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-RSA-CHACHA20-POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-ECDSA-AES128-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	"ECDHE-RSA-AES128-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	"ECDHE-ECDSA-AES256-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-AES256-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	"ECDHE-ECDSA-AES128-SHA256":     tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-RSA-AES128-SHA256":       tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
	"AES128-GCM-SHA256":             tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	"AES256-GCM-SHA384":             tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	"AES128-SHA":                    tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	"AES256-SHA":                    tls.TLS_RSA_WITH_AES_256_CBC_SHA,
	"AES128-SHA256":                 tls.TLS_RSA_WITH_AES_128_CBC_SHA256,
	"DES-CBC3-SHA":                  tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
	"ECDHE-RSA-DES-CBC3-SHA":        tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
	"ECDHE-ECDSA-RC4-SHA":           tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA,
	"ECDHE-RSA-RC4-SHA":             tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA,
	"RC4-SHA":                       tls.TLS_RSA_WITH_RC4_128_SHA,
}

// tls13Suites are the TLS 1.3 suite names OpenSSL accepts in
// tls-ciphersuites, and whether Go offers them.
var tls13Suites = map[string]bool{
	"TLS_AES_128_GCM_SHA256":       true,
	"TLS_AES_256_GCM_SHA384":       true,
	"TLS_CHACHA20_POLY1305_SHA256": true,
	"TLS_AES_128_CCM_SHA256":       false,
	"TLS_AES_128_CCM_8_SHA256":     false,
}

// ParseCiphers parses tls-ciphers, an OpenSSL cipher list for TLS 1.2 and
// older, into Go suite IDs in the order given. Entries are separated by ':',
// ',' or spaces; names are OpenSSL's (case-sensitive, as in OpenSSL);
// DEFAULT, HIGH and ALL add Go's default secure suites; "!NAME" and "-NAME"
// remove a suite (or, for a keyword, its suites); "+NAME" is taken as NAME.
// Empty returns nil: Go's defaults.
func ParseCiphers(s string) ([]uint16, error) {
	entries := strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ',' || r == ' ' })
	if len(entries) == 0 {
		return nil, nil
	}
	var out []uint16
	removed := map[uint16]bool{}
	has := map[uint16]bool{}
	for _, e := range entries {
		remove := false
		switch e[0] {
		case '!', '-':
			remove, e = true, e[1:]
		case '+':
			e = e[1:]
		}
		ids, err := cipherEntry(e)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			switch {
			case remove:
				removed[id] = true
			case !has[id] && !removed[id]:
				has[id] = true
				out = append(out, id)
			}
		}
	}
	kept := out[:0]
	for _, id := range out {
		if !removed[id] {
			kept = append(kept, id)
		}
	}
	if len(kept) == 0 {
		return nil, fmt.Errorf("tlsconf: tls-ciphers %q selects no cipher suite", s)
	}
	return kept, nil
}

func cipherEntry(e string) ([]uint16, error) {
	switch e {
	case "DEFAULT", "HIGH", "ALL":
		var ids []uint16
		for _, cs := range tls.CipherSuites() {
			if !tls13Only(cs) {
				ids = append(ids, cs.ID)
			}
		}
		return ids, nil
	}
	if id, ok := opensslSuites[e]; ok {
		return []uint16{id}, nil
	}
	return nil, fmt.Errorf("tlsconf: tls-ciphers: unknown or unsupported cipher %q (OpenSSL names of the suites Go implements, DEFAULT, HIGH, ALL)", e)
}

func tls13Only(cs *tls.CipherSuite) bool {
	for _, v := range cs.SupportedVersions {
		if v != tls.VersionTLS13 {
			return false
		}
	}
	return true
}

// ValidateCiphersuites checks tls-ciphersuites, a ':'-separated list of TLS
// 1.3 suite names. Go always offers its three TLS 1.3 suites, so a valid list
// changes nothing; the CCM suites are refused since Go cannot offer them.
func ValidateCiphersuites(s string) error {
	for _, e := range strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
		ok, known := tls13Suites[e]
		if !known {
			return fmt.Errorf("tlsconf: tls-ciphersuites: unknown TLS 1.3 cipher suite %q", e)
		}
		if !ok {
			return fmt.Errorf("tlsconf: tls-ciphersuites: %s is not implemented by Go's TLS", e)
		}
	}
	return nil
}
