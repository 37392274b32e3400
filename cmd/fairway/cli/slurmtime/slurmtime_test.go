package slurmtime

import (
	"testing"
	"time"
)

func TestParseLimit(t *testing.T) {
	tests := []struct {
		in        string
		secs      int64
		unlimited bool
	}{
		{"30", 30 * 60, false},
		{"0", 0, false},
		{"5:30", 5*60 + 30, false},
		{"2:00:00", 2 * 3600, false},
		{"1:02:03", 3600 + 2*60 + 3, false},
		{"1-0", 86400, false},
		{"2-12", 2*86400 + 12*3600, false},
		{"1-2:30", 86400 + 2*3600 + 30*60, false},
		{"1-2:30:15", 86400 + 2*3600 + 30*60 + 15, false},
		{"UNLIMITED", 0, true},
		{"infinite", 0, true},
		{"-1", 0, true},
		{" 10 ", 600, false},
	}
	for _, tt := range tests {
		secs, unl, err := ParseLimit(tt.in)
		if err != nil {
			t.Errorf("ParseLimit(%q): %v", tt.in, err)
			continue
		}
		if secs != tt.secs || unl != tt.unlimited {
			t.Errorf("ParseLimit(%q) = %d, %v; want %d, %v", tt.in, secs, unl, tt.secs, tt.unlimited)
		}
	}
	for _, bad := range []string{"", "abc", "1:2:3:4", "1-2-3", "-5", "1h", "1.5", "1-", ":30", "1-2:3:4:5", "99999999999999"} {
		if secs, unl, err := ParseLimit(bad); err == nil {
			t.Errorf("ParseLimit(%q) = %d, %v; want an error", bad, secs, unl)
		}
	}
}

func TestShortAndClock(t *testing.T) {
	tests := []struct {
		secs         int64
		short, clock string
	}{
		{0, "0:00", "00:00:00"},
		{5, "0:05", "00:00:05"},
		{65, "1:05", "00:01:05"},
		{3600, "1:00:00", "01:00:00"},
		{3723, "1:02:03", "01:02:03"},
		{86400, "1-00:00:00", "1-00:00:00"},
		{2*86400 + 3*3600 + 4*60 + 5, "2-03:04:05", "2-03:04:05"},
		{-1, "INVALID", "INVALID"},
	}
	for _, tt := range tests {
		if got := Short(tt.secs); got != tt.short {
			t.Errorf("Short(%d) = %q, want %q", tt.secs, got, tt.short)
		}
		if got := Clock(tt.secs); got != tt.clock {
			t.Errorf("Clock(%d) = %q, want %q", tt.secs, got, tt.clock)
		}
	}
}

func TestDate(t *testing.T) {
	loc := time.FixedZone("X", 2*3600)
	if got := Date(0, loc); got != "Unknown" {
		t.Errorf("Date(0) = %q, want Unknown", got)
	}
	if got, want := Date(1700000000, loc), "2023-11-15T00:13:20"; got != want {
		t.Errorf("Date = %q, want %q", got, want)
	}
}

func TestParseDate(t *testing.T) {
	loc := time.FixedZone("X", -5*3600)
	now := time.Date(2024, 6, 15, 14, 30, 0, 0, loc) // a Saturday afternoon
	at := func(y int, m time.Month, d, h, mi, s int) time.Time { return time.Date(y, m, d, h, mi, s, 0, loc) }
	tests := []struct {
		in   string
		past bool
		want time.Time
	}{
		{"2024-01-02", true, at(2024, 1, 2, 0, 0, 0)},
		{"2024-01-02T03:04", true, at(2024, 1, 2, 3, 4, 0)},
		{"2024-01-02T03:04:05", true, at(2024, 1, 2, 3, 4, 5)},
		{"now", true, now},
		{"now-1hour", true, now.Add(-time.Hour)},
		{"now+30", false, now.Add(30 * time.Second)},
		{"now+2days", false, now.Add(48 * time.Hour)},
		{"now+1w", false, now.Add(7 * 24 * time.Hour)},
		{"today", true, at(2024, 6, 15, 0, 0, 0)},
		{"midnight", true, at(2024, 6, 15, 0, 0, 0)},
		{"tomorrow", false, at(2024, 6, 16, 0, 0, 0)},
		{"noon", true, at(2024, 6, 15, 12, 0, 0)},
		{"noon", false, at(2024, 6, 16, 12, 0, 0)},
		{"teatime", false, at(2024, 6, 15, 16, 0, 0)},
		{"10:00", true, at(2024, 6, 15, 10, 0, 0)},
		{"10:00", false, at(2024, 6, 16, 10, 0, 0)},
		{"16:00:30", false, at(2024, 6, 15, 16, 0, 30)},
		{"4:00PM", false, at(2024, 6, 15, 16, 0, 0)},
		{"12:15am", true, at(2024, 6, 15, 0, 15, 0)},
		{"06/01", true, at(2024, 6, 1, 0, 0, 0)},
		{"12/31", true, at(2023, 12, 31, 0, 0, 0)},
		{"12/31", false, at(2024, 12, 31, 0, 0, 0)},
		{"06/01", false, at(2025, 6, 1, 0, 0, 0)},
		{"01/02/23", true, at(2023, 1, 2, 0, 0, 0)},
		{"01.02.2023", true, at(2023, 1, 2, 0, 0, 0)},
		{"06/01-08:30", true, at(2024, 6, 1, 8, 30, 0)},
		{"0601", true, at(2024, 6, 1, 0, 0, 0)},
		{"060123", true, at(2023, 6, 1, 0, 0, 0)},
	}
	for _, tt := range tests {
		got, err := ParseDate(tt.in, now, tt.past)
		if err != nil {
			t.Errorf("ParseDate(%q, past=%v): %v", tt.in, tt.past, err)
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("ParseDate(%q, past=%v) = %v, want %v", tt.in, tt.past, got, tt.want)
		}
	}
	for _, bad := range []string{"", "yesterday-ish", "2024-02-30", "13/01", "25:00", "now+5fortnights", "13:00PM", "2024-1"} {
		if got, err := ParseDate(bad, now, true); err == nil {
			t.Errorf("ParseDate(%q) = %v, want an error", bad, got)
		}
	}
}
