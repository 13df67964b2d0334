// This file implements saving and restoring a Dynamic's state exactly.

package lossscale

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrState is wrapped by the error Restore and State.UnmarshalBinary return for a malformed state.
var ErrState = errors.New("lossscale: malformed state")

// State is everything a Dynamic is: its options and its counters. It round-trips exactly through
// MarshalBinary and UnmarshalBinary (the floats travel as their bits).
type State struct {
	Options        Options
	Scale          float32
	Tracker        int  // in [0, Interval)
	HysteresisLeft int  // in [1, Hysteresis]
	Found          bool // a non-finite gradient seen since the last Update (normally false)
}

// stateMagic opens the binary encoding; the last byte is the version.
var stateMagic = [4]byte{'U', 'L', 'S', 1}

const stateLen = 4 + 4 + 8 + 8 + 4 + 4 + 4 + 4 + 4 + 4 + 4 + 1

// MarshalBinary encodes s in a fixed little-endian layout: magic "ULS\x01"; Init, Growth,
// Backoff, Interval, Floor, Cap, Hysteresis; Scale, Tracker, HysteresisLeft; Found. Floats are
// stored as their IEEE bits, integers as uint32.
func (s State) MarshalBinary() ([]byte, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, stateLen)
	b = append(b, stateMagic[:]...)
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(s.Options.Init))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.Options.Growth))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.Options.Backoff))
	b = binary.LittleEndian.AppendUint32(b, uint32(s.Options.Interval))
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(s.Options.Floor))
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(s.Options.Cap))
	b = binary.LittleEndian.AppendUint32(b, uint32(s.Options.Hysteresis))
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(s.Scale))
	b = binary.LittleEndian.AppendUint32(b, uint32(s.Tracker))
	b = binary.LittleEndian.AppendUint32(b, uint32(s.HysteresisLeft))
	if s.Found {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary encoded and validates it; the error wraps ErrState
// or ErrOptions.
func (s *State) UnmarshalBinary(b []byte) error {
	if len(b) != stateLen || [4]byte(b[:4]) != stateMagic {
		return fmt.Errorf("%w: %d bytes, want %d starting with %q", ErrState, len(b), stateLen, stateMagic[:])
	}
	r := b[4:]
	u32 := func() uint32 { v := binary.LittleEndian.Uint32(r); r = r[4:]; return v }
	u64 := func() uint64 { v := binary.LittleEndian.Uint64(r); r = r[8:]; return v }
	var t State
	t.Options.Init = math.Float32frombits(u32())
	t.Options.Growth = math.Float64frombits(u64())
	t.Options.Backoff = math.Float64frombits(u64())
	t.Options.Interval = int(u32())
	t.Options.Floor = math.Float32frombits(u32())
	t.Options.Cap = math.Float32frombits(u32())
	t.Options.Hysteresis = int(u32())
	t.Scale = math.Float32frombits(u32())
	t.Tracker = int(u32())
	t.HysteresisLeft = int(u32())
	switch r[0] {
	case 0:
	case 1:
		t.Found = true
	default:
		return fmt.Errorf("%w: found byte %#x", ErrState, r[0])
	}
	if err := t.validate(); err != nil {
		return err
	}
	*s = t
	return nil
}

// validate checks the options and that the counters are in range.
func (s State) validate() error {
	if err := s.Options.Validate(); err != nil {
		return err
	}
	o := s.Options
	switch {
	case !(s.Scale >= o.Floor && s.Scale <= o.Cap) || math.IsInf(float64(s.Scale), 0):
		return fmt.Errorf("%w: scale %g (%#x) outside [floor %g, cap %g]", ErrState, s.Scale, math.Float32bits(s.Scale), o.Floor, o.Cap)
	case s.Tracker < 0 || s.Tracker >= o.Interval:
		return fmt.Errorf("%w: tracker %d outside [0, %d)", ErrState, s.Tracker, o.Interval)
	case s.HysteresisLeft < 1 || s.HysteresisLeft > o.Hysteresis:
		return fmt.Errorf("%w: hysteresis count %d outside [1, %d]", ErrState, s.HysteresisLeft, o.Hysteresis)
	}
	return nil
}

// Snapshot returns the scaler's state.
func (d *Dynamic) Snapshot() State {
	return State{Options: d.opt, Scale: d.scale, Tracker: d.tracker, HysteresisLeft: d.hyst, Found: d.found}
}

// SetSnapshot replaces the scaler's state with s after validating it.
func (d *Dynamic) SetSnapshot(s State) error {
	if err := s.validate(); err != nil {
		return err
	}
	d.opt, d.scale, d.tracker, d.hyst, d.found = s.Options, s.Scale, s.Tracker, s.HysteresisLeft, s.Found
	return nil
}

// State implements Scaler: Snapshot encoded by State.MarshalBinary.
func (d *Dynamic) State() ([]byte, error) { return d.Snapshot().MarshalBinary() }

// Restore implements Scaler: it decodes a State and installs it.
func (d *Dynamic) Restore(b []byte) error {
	var s State
	if err := s.UnmarshalBinary(b); err != nil {
		return err
	}
	return d.SetSnapshot(s)
}
