package main

// The rolecall processes the scripts start are this test binary: with the
// zone database embedded, a script's TZ (timezone.txtar's Asia/Kolkata)
// takes effect on machines without /usr/share/zoneinfo, instead of Go
// falling back to UTC and the script testing nothing.
import _ "time/tzdata"
