package flatten

// The configuration of one flatten block, as parsed from the Corefile: a plain value that the
// constructor builds every component from, and that nothing changes afterwards.

import (
	"time"

	"github.com/dnsflatten/flatten/plugin/chain"

	"github.com/miekg/dns"
)

// Mode selects which names' CNAMEs are flattened.
type Mode int

const (
	// Apex flattens a CNAME at a zone's apex only (the default).
	Apex Mode = iota
	// All flattens every CNAME answer in the zones.
	All
	// Names flattens exactly the listed owner names.
	Names
)

// Defaults, and the bounds setup enforces.
const (
	// defaultMaxChain is CoreDNS's and PowerDNS's own chain limit; 8-hop chains exist in the wild.
	defaultMaxChain = 10
	// maxMaxChain bounds max_chain: a question costs at most max_chain lookups.
	maxMaxChain      = 32
	defaultMinTTL    = 5
	defaultMaxTTL    = 3600
	defaultMaxStale  = 24 * time.Hour
	defaultCacheSize = 10000
	// minCacheSize is the fewest entries CoreDNS's cache holds: 256 shards of at least 4.
	minCacheSize      = 1024
	defaultMaxLookups = 256 // lookups take a few milliseconds: 256 at once is thousands a second
	defaultAudit      = 15 * time.Second
)

// config is one flatten block.
type config struct {
	// zones are the zones whose names may be flattened: lower-case, fully qualified.
	zones chain.Zones
	// at is where the flatten line is (FILE:LINE), for what the plugin logs about the block.
	at string
	// mode chooses the flattened names in zones; names are the owner names of Names mode.
	mode  Mode
	names map[string]struct{}
	// aliases are the declared aliases (alias NAME TARGET): lower-case NAME to fully qualified
	// TARGET.
	aliases map[string]string
	// maxChain is the number of CNAME hops allowed on one chain.
	maxChain int
	// minTTL and maxTTL bound the TTLs of cached entries and so of flattened answers.
	minTTL, maxTTL uint32
	// maxStale is how long after expiry an entry may be served when its refresh fails; 0 never.
	maxStale time.Duration
	// cacheSize is the number of entries the cache holds at most.
	cacheSize int
	// dangling is the reply to an alias whose target does not exist: dns.RcodeSuccess (NODATA,
	// the default), dns.RcodeNameError or dns.RcodeServerFailure.
	dangling int
	// maxLookups bounds the target lookups in flight at once.
	maxLookups int
	// audit is how often the zones are audited again; 0: no timer. Whatever it is, a zone whose
	// serial changed is audited again within about a second.
	audit time.Duration
	// resolvers, when set, resolve names outside zones (host:port).
	resolvers []string
	// targets, when set, are the zones beside zones that chains may reach (targets ZONE...).
	targets []string
	// expandTransfer sends flattened names as their addresses in zone transfers; expandAt is
	// where it was written (FILE:LINE), for the error when the block has no transfer plugin.
	expandTransfer bool
	expandAt       string
	// ecs passes a client's EDNS Client Subnet to the resolvers (RFC 7871); ecsClient also sends
	// the client's own address when it sent none.
	ecs, ecsClient bool
	// probeNS has the audit ask the name servers of every delegation and apex whether they serve
	// the zone (lame delegations); probePort is the port they are asked on ("" for 53).
	probeNS   bool
	probePort string
}

// defaults returns the configuration of a bare 'flatten' line for zones.
func defaults(zones chain.Zones) config {
	return config{
		zones:      zones,
		maxChain:   defaultMaxChain,
		minTTL:     defaultMinTTL,
		maxTTL:     defaultMaxTTL,
		maxStale:   defaultMaxStale,
		cacheSize:  defaultCacheSize,
		dangling:   dns.RcodeSuccess,
		maxLookups: defaultMaxLookups,
		audit:      defaultAudit,
	}
}
