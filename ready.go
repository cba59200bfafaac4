package flatten

// Ready implements ready.Readiness: the plugin is ready once CoreDNS has started it.
func (f *Flatten) Ready() bool { return f.ready.Load() }
