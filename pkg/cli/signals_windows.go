package cli

import "os"

// Windows delivers Ctrl-C to every process of the console; forwarding it
// again would deliver it twice.
var forwardedSignals = []os.Signal{}
