package rules

import (
	"fmt"
	"io"
	"os"

	"github.com/miekg/dns"
)

// ParseZone reads a zone in master file format. When origin is "", the origin is the owner of the
// zone's SOA record (a $ORIGIN line sets it for relative names, as usual).
func ParseZone(r io.Reader, origin, filename string) (Zone, error) {
	zp := dns.NewZoneParser(r, dns.Fqdn(origin), filename)
	zp.SetIncludeAllowed(false)
	z := Zone{Origin: dns.Fqdn(origin)}
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if soa, isSOA := rr.(*dns.SOA); isSOA && origin == "" && z.Origin == "." {
			z.Origin = dns.CanonicalName(soa.Hdr.Name)
		}
		z.Records = append(z.Records, rr)
	}
	if err := zp.Err(); err != nil {
		return Zone{}, err
	}
	if z.Origin == "." && origin == "" {
		return Zone{}, fmt.Errorf("%s: no SOA record, so no origin: name it as FILE:ORIGIN", filename)
	}
	z.Origin = dns.CanonicalName(z.Origin)
	return z, nil
}

// ParseZoneFile reads the zone in the file at path.
func ParseZoneFile(path, origin string) (Zone, error) {
	f, err := os.Open(path)
	if err != nil {
		return Zone{}, err
	}
	defer f.Close()
	return ParseZone(f, origin, path)
}
