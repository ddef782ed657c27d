// Package enginetest holds test-only helpers for the engine's data
// directories, shared by the engine's tests and walkerdump's: builders
// that damage a directory on purpose (cut tails, flipped bytes, a damaged
// batch commit, corrupt, wrong or deleted hints, stray temporary files,
// interrupted merges) and readers that account for a directory
// independently of the engine's scanner (each record decoded with
// record.Decode, and the state those records hold once the damaged ones
// are gone). Import it from _test.go files only.
//
// It does not import package engine, so that the engine's own (package
// engine) tests can use it: directories are made with engine.Open by the
// caller, and so carry their FORMAT file, and the builders change them
// only by the segment, hint and merge files' names and formats. A helper
// that needs the engine takes it as a function (InterruptMerge).
//
//	dir := makeDir(t)                         // engine.Open, writes, Close
//	segs := enginetest.AllRecords(t, dir)     // before the damage
//	lost := enginetest.CutTail(t, dir, 1, segs[1][3].Off+1)
//	want := enginetest.Readable(segs, lost)   // what recovery must keep
package enginetest
