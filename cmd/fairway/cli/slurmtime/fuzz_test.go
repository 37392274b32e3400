package slurmtime

import (
	"strings"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// maxLimitSecs bounds what ParseLimit accepts: every field is at most 2^31,
// so D-H:M:S stays far below int64 overflow.
const maxLimitSecs = (1<<31)*86400 + (1<<31)*3600 + (1<<31)*60 + 1<<31

// FuzzParseLimit checks that ParseLimit never panics, that an accepted limit
// is non-negative and bounded, and that the forms the tools print (Short,
// Clock and api.FormatDuration) parse back to the same number of seconds.
func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{
		"90", "5:07", "1:02:03", "1-12", "1-12:30", "1-12:30:15", "UNLIMITED", "infinite", "-1", "0",
		"", " 10 ", "2147483648", "2147483649", "99999999999999999999", "1-", ":5", "1:2:3:4", "٣",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		secs, unlimited, err := ParseLimit(s)
		if err != nil {
			if secs != 0 || unlimited {
				t.Fatalf("ParseLimit(%q) = %d, %v with error %v", s, secs, unlimited, err)
			}
			return
		}
		if unlimited {
			if secs != 0 {
				t.Fatalf("ParseLimit(%q) = %d seconds and unlimited", s, secs)
			}
			return
		}
		if secs < 0 || secs > maxLimitSecs {
			t.Fatalf("ParseLimit(%q) = %d, outside [0, %d]", s, secs, int64(maxLimitSecs))
		}
		forms := []string{Short(secs), Clock(secs)}
		if !api.Unlimited(secs) {
			forms = append(forms, api.FormatDuration(secs))
		}
		for _, form := range forms {
			back, unl, err := ParseLimit(form)
			if err != nil || unl || back != secs {
				t.Fatalf("ParseLimit(%q) = %d; its printed form %q parses as %d, %v, %v", s, secs, form, back, unl, err)
			}
		}
	})
}

// FuzzParseDate checks that ParseDate never panics, that relative dates
// ("now+N units", "now-N units") move in the direction asked without
// wrapping around, that a date without a year is placed on the side of now
// that past asks for, and that an accepted date printed in DateLayout parses
// back to the same instant.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{
		"now", "now+1hour", "now-2days", "now+90", "now+1fortnight", "noon", "teatime", "12:30", "1:00PM",
		"13:00pm", "2025-01-31T12:00:00", "2024-02-30", "12/31", "12/31/25-10:00", "0131", "013125T08:00",
		"now+9999999999999999999weeks", "now+1537228672809129301seconds", "now+15250284452weeks", "0229",
	} {
		f.Add(s, false)
	}
	f.Add("now-106751991167days", true)
	loc := time.FixedZone("TST", 2*3600)
	now := time.Date(2024, 6, 15, 14, 30, 0, 0, loc)
	f.Fuzz(func(t *testing.T, s string, past bool) {
		got, err := ParseDate(s, now, past)
		if err != nil {
			return
		}
		rel := strings.ToLower(strings.TrimSpace(s))
		switch {
		case strings.HasPrefix(rel, "now+") && got.Before(now):
			t.Fatalf("ParseDate(%q) = %v, before now %v", s, got, now)
		case strings.HasPrefix(rel, "now-") && got.After(now):
			t.Fatalf("ParseDate(%q) = %v, after now %v", s, got, now)
		}
		if got.Year() < 1000 || got.Year() > 9999 || got.Nanosecond() != 0 {
			return // not printable in DateLayout
		}
		printed := got.In(loc).Format(DateLayout)
		back, err := ParseDate(printed, now, past)
		if err != nil || !back.Equal(got) {
			t.Fatalf("ParseDate(%q) = %v; its printed form %q parses as %v, %v", s, got, printed, back, err)
		}
	})
}
