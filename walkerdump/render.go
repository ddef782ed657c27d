package main

import (
	"encoding/hex"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// text renders bytes for people: a Go-quoted string ("\x00user:1") when
// they are mostly printable UTF-8, hex with a 0x prefix otherwise.
func text(b []byte) string {
	if utf8.Valid(b) {
		n, printable := 0, 0
		for _, r := range string(b) {
			n++
			if unicode.IsPrint(r) {
				printable++
			}
		}
		if printable*4 >= n*3 {
			return strconv.Quote(string(b))
		}
	}
	return "0x" + hex.EncodeToString(b)
}

// jsonBytes is how JSON output carries bytes that may not be text: valid
// UTF-8 goes in the plain field (key, value) as a JSON string, lossless
// since JSON escapes control characters; anything else goes in a sibling
// field with a _base64 suffix (key_base64, value_base64) as standard
// base64, and the plain field is left out. A reader takes whichever of the
// two is present. jsonBytes returns the two fields' values.
func jsonBytes(b []byte) (plain *string, b64 []byte) {
	if utf8.Valid(b) {
		s := string(b)
		return &s, nil
	}
	return nil, b // encoding/json writes []byte as standard base64
}
