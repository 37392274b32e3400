// Package slurmtime parses and prints times the way Slurm's commands do: time
// limits ("1-12:00:00", "90", "UNLIMITED"), elapsed times in squeue's short form
// ("5:07", "1:02:03", "2-00:00:00") and sacct's clock form ("00:05:07"), and
// dates ("2006-01-02T15:04:05", "now+1hour", "noon", "12/31").
package slurmtime

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// limitRE matches Slurm's time-limit forms: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S.
// It and the date patterns below are compiled on first use, so that a command
// pays only for those it needs rather than for all of them at start-up.
var limitRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?:(\d+)-(\d+)(?::(\d+)(?::(\d+))?)?|(\d+)(?::(\d+)(?::(\d+))?)?)$`)
})

// LimitForms describes the accepted time-limit forms, for error messages.
const LimitForms = "want minutes, M:S, H:M:S, D-H, D-H:M, D-H:M:S or UNLIMITED"

// ParseLimit parses a Slurm time limit (sbatch --time). It returns the limit in
// seconds, or unlimited=true for "UNLIMITED", "INFINITE" and "-1". As in Slurm,
// a lone number is minutes and "M:S" is minutes and seconds.
func ParseLimit(s string) (secs int64, unlimited bool, err error) {
	s = strings.TrimSpace(s)
	switch strings.ToUpper(s) {
	case "UNLIMITED", "INFINITE", "-1":
		return 0, true, nil
	}
	m := limitRE().FindStringSubmatch(s)
	if m == nil {
		return 0, false, fmt.Errorf("%q is not a time limit: %s", s, LimitForms)
	}
	num := func(i int) int64 {
		if m[i] == "" {
			return 0
		}
		n, perr := strconv.ParseInt(m[i], 10, 64)
		if perr != nil || n > 1<<31 {
			err = fmt.Errorf("%q is out of range", s)
		}
		return n
	}
	var d, h, mi, se int64
	if m[1] != "" { // days form
		d, h, mi, se = num(1), num(2), num(3), num(4)
	} else if m[7] != "" { // H:M:S
		h, mi, se = num(5), num(6), num(7)
	} else { // M or M:S
		mi, se = num(5), num(6)
	}
	if err != nil {
		return 0, false, err
	}
	return d*86400 + h*3600 + mi*60 + se, false, nil
}

// Short formats seconds as squeue and sinfo print durations: M:SS, H:MM:SS or
// D-HH:MM:SS. Negative durations print as INVALID.
func Short(secs int64) string {
	if secs < 0 {
		return "INVALID"
	}
	d, h, m, s := secs/86400, secs/3600%24, secs/60%60, secs%60
	switch {
	case d > 0:
		return fmt.Sprintf("%d-%02d:%02d:%02d", d, h, m, s)
	case h > 0:
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

// Clock formats seconds as sacct and scontrol print them: HH:MM:SS or
// D-HH:MM:SS. Negative durations print as INVALID.
func Clock(secs int64) string {
	if secs < 0 {
		return "INVALID"
	}
	d, h, m, s := secs/86400, secs/3600%24, secs/60%60, secs%60
	if d > 0 {
		return fmt.Sprintf("%d-%02d:%02d:%02d", d, h, m, s)
	}
	return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
}

// DateLayout is Slurm's standard date format (strftime "%FT%T").
const DateLayout = "2006-01-02T15:04:05"

// Date formats unix seconds in loc as Slurm does, or "Unknown" for 0.
func Date(unix int64, loc *time.Location) string {
	if unix == 0 {
		return "Unknown"
	}
	if loc == nil {
		loc = time.Local
	}
	return time.Unix(unix, 0).In(loc).Format(DateLayout)
}

// DateForms describes the accepted date forms, for error messages.
const DateForms = "want YYYY-MM-DD[THH:MM[:SS]], MM/DD[/YY][-HH:MM[:SS]], MMDD[YY], HH:MM[:SS][AM|PM], " +
	"now[{+|-}N[seconds|minutes|hours|days|weeks]], today, midnight, noon, tomorrow, elevenses, fika or teatime"

var (
	isoRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?)?$`)
	})
	slashRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(\d{1,2})([/.])(\d{1,2})(?:[/.](\d{2}|\d{4}))?(?:[-T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$`)
	})
	mmddRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(\d{2})(\d{2})(\d{2})?(?:[-T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$`)
	})
	clockRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?i)(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(AM|PM)?$`) })
	nowRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?i)now(?:([+-])(\d+)([a-z]*))?$`) })
)

// ParseDate parses a date as sacct -S/-E and sbatch --begin accept them, relative
// to now (whose location is used). A time without a date means the nearest such
// time: today or earlier when past is true (sacct), else today or later (--begin).
// A date without a year picks the year the same way.
func ParseDate(s string, now time.Time, past bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	loc := now.Location()
	y, mo, d := now.Date()
	midnight := time.Date(y, mo, d, 0, 0, 0, 0, loc)
	bad := func(why string) (time.Time, error) {
		if why == "" {
			why = DateForms
		}
		return time.Time{}, fmt.Errorf("%q is not a date: %s", s, why)
	}
	soonest := func(h, m, sec int) time.Time {
		t := time.Date(y, mo, d, h, m, sec, 0, loc)
		if !past && !t.After(now) {
			t = t.AddDate(0, 0, 1)
		}
		return t
	}
	switch strings.ToLower(s) {
	case "today", "midnight":
		return midnight, nil
	case "tomorrow":
		return midnight.AddDate(0, 0, 1), nil
	case "noon":
		return soonest(12, 0, 0), nil
	case "elevenses":
		return soonest(11, 0, 0), nil
	case "fika":
		return soonest(15, 0, 0), nil
	case "teatime":
		return soonest(16, 0, 0), nil
	}
	if m := nowRE().FindStringSubmatch(s); m != nil {
		if m[1] == "" {
			return now, nil
		}
		n, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			return bad("offset out of range")
		}
		unit, ok := unitSeconds(strings.ToLower(m[3]))
		if !ok {
			return bad("unknown unit " + strconv.Quote(m[3]) + ": want seconds, minutes, hours, days or weeks")
		}
		// time.Duration holds about 292 years: a larger offset would wrap
		// around (now+N could land in the past).
		if n > math.MaxInt64/int64(time.Second)/unit {
			return bad("offset out of range")
		}
		off := time.Duration(n*unit) * time.Second
		if m[1] == "-" {
			off = -off
		}
		return now.Add(off), nil
	}
	if m := clockRE().FindStringSubmatch(s); m != nil {
		h, mi, sec := atoi(m[1]), atoi(m[2]), atoi(m[3])
		switch strings.ToUpper(m[4]) {
		case "AM":
			if h < 1 || h > 12 {
				return bad("hour must be 1-12 with AM/PM")
			}
			if h == 12 {
				h = 0
			}
		case "PM":
			if h < 1 || h > 12 {
				return bad("hour must be 1-12 with AM/PM")
			}
			if h != 12 {
				h += 12
			}
		}
		if h > 23 || mi > 59 || sec > 59 {
			return bad("time out of range")
		}
		return soonest(h, mi, sec), nil
	}
	var year, month, day, h, mi, sec int
	year = -1
	switch m := isoRE().FindStringSubmatch(s); {
	case m != nil:
		year, month, day, h, mi, sec = atoi(m[1]), atoi(m[2]), atoi(m[3]), atoi(m[4]), atoi(m[5]), atoi(m[6])
	default:
		if m := slashRE().FindStringSubmatch(s); m != nil {
			month, day, h, mi, sec = atoi(m[1]), atoi(m[3]), atoi(m[5]), atoi(m[6]), atoi(m[7])
			if m[4] != "" {
				year = fullYear(m[4])
			}
		} else if m := mmddRE().FindStringSubmatch(s); m != nil {
			month, day, h, mi, sec = atoi(m[1]), atoi(m[2]), atoi(m[4]), atoi(m[5]), atoi(m[6])
			if m[3] != "" {
				year = fullYear(m[3])
			}
		} else {
			return bad("")
		}
	}
	if month < 1 || month > 12 || day < 1 || day > 31 || h > 23 || mi > 59 || sec > 59 {
		return bad("field out of range")
	}
	if year < 0 {
		year = y
		t := time.Date(year, time.Month(month), day, h, mi, sec, 0, loc)
		if past && t.After(now) {
			year--
		} else if !past && !t.After(now) {
			year++
		}
	}
	t := time.Date(year, time.Month(month), day, h, mi, sec, 0, loc)
	if t.Day() != day || int(t.Month()) != month {
		return bad("no such day")
	}
	return t, nil
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s) // callers pass regexp-checked digits or ""
	return n
}

func fullYear(s string) int {
	n := atoi(s)
	if len(s) == 2 {
		n += 2000
	}
	return n
}

func unitSeconds(u string) (int64, bool) {
	switch u {
	case "", "s", "sec", "secs", "second", "seconds":
		return 1, true
	case "m", "min", "mins", "minute", "minutes":
		return 60, true
	case "h", "hr", "hour", "hours":
		return 3600, true
	case "d", "day", "days":
		return 86400, true
	case "w", "week", "weeks":
		return 7 * 86400, true
	}
	return 0, false
}
