// Package flatten is a CoreDNS plugin that answers questions at aliases (a CNAME at a zone's apex,
// every CNAME of a zone, chosen names, aliases declared in the Corefile, HTTPS AliasMode records,
// Kubernetes ExternalName services) with the records their chains end in, owned by the question's
// name, and that validates CNAME chains as they are served: loops and over-long chains get a clear
// error, never a looping or cut answer. See README.md, and docs/ARCHITECTURE.md for how a question
// crosses it.
package flatten

import (
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/transfer"
	"github.com/dnsflatten/flatten/plugin/audit"
	"github.com/dnsflatten/flatten/plugin/target"
)

const pluginName = "flatten"

// Flatten is the plugin: the wiring of its parts. A question enters ServeDNS (handler.go) once and
// leaves once: decide (policy) -> ask the next plugin -> resolve the chain (plugin/target) ->
// compose the reply (plugin/reply) -> write. The audit (plugin/audit) runs beside it.
type Flatten struct {
	// Next is the server block's plugins after this one. CoreDNS builds a block's chain once per
	// key of the block, with one Flatten for all of them (see setup): the chain built last is Next.
	Next plugin.Handler

	policy *policy
	chase  *target.Chaser
	audit  *audit.Auditor
	report *audit.Reporter
	// sign is the server block's dnssec plugin, or nil; transferers are the block's plugins that
	// hand zones over, for expand_transfer.
	sign        *signer
	transferers []transfer.Transferer
	counters    *counters
	// dangling is the dangling option; expand is expand_transfer.
	dangling int
	expand   bool
}

// Name implements plugin.Handler.
func (f *Flatten) Name() string { return pluginName }

// Ready implements ready.Readiness: the plugin is ready once its zones have been read after
// start-up, so that answers at an apex with other records are right from the first question.
func (f *Flatten) Ready() bool { return f.audit.Ready() }

// stop stops the audit, the background refreshes and the resolver's connections, and waits for
// them. The resolver's connections start with the instance (setup's OnStartup), the audit once the
// instance serves (startAudits).
func (f *Flatten) stop() {
	f.audit.Stop()
	f.chase.Stop()
}
