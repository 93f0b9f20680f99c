package matching

import "strings"

// Closeness is how near two territories are, as a person would say it.
type Closeness string

const (
	SameTerritory Closeness = "same territory"
	SameRegion    Closeness = "same region"
	SameCountry   Closeness = "same country"
	Far           Closeness = ""
)

// weight is the share of the territory weight each closeness earns.
func (c Closeness) weight() float64 {
	switch c {
	case SameTerritory:
		return 1
	case SameRegion:
		return 0.6
	case SameCountry:
		return 0.25
	}
	return 0
}

// CloseTo compares two territory codes, each either NUTS (IT, ITI1,
// ITI17) or ISTAT (09 a region, 048 a province, 048017 a municipality).
// ISTAT codes are brought to their NUTS 2 region, so that Comune di Vibo
// Valentia (102047) lies in Calabria (ITF6).
func CloseTo(a, b string) Closeness {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if a == "" || b == "" {
		return Far
	}
	if a == b {
		return SameTerritory
	}
	ca, ra := place(a)
	cb, rb := place(b)
	switch {
	case ra != "" && ra == rb:
		return SameRegion
	case ca != "" && ca == cb:
		return SameCountry
	}
	return Far
}

// place returns the country and NUTS 2 region of a code; either may be
// empty when the code does not say.
func place(code string) (country, region string) {
	if isDigits(code) {
		switch len(code) {
		case 2:
			return "IT", istatRegions[code]
		case 3:
			return "IT", provinceRegion(code)
		case 6:
			return "IT", provinceRegion(code[:3])
		}
		return "IT", ""
	}
	if len(code) < 2 {
		return "", ""
	}
	country = code[:2]
	if len(code) >= 4 {
		region = code[:4]
	}
	return country, region
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// istatRegions maps the ISTAT code of a region to its NUTS 2 code.
// Trentino-Alto Adige (04) is two NUTS 2 regions, one per province, and
// so has none of its own.
var istatRegions = map[string]string{
	"01": "ITC1", "02": "ITC2", "03": "ITC4", "05": "ITH3", "06": "ITH4",
	"07": "ITC3", "08": "ITH5", "09": "ITI1", "10": "ITI2", "11": "ITI3", "12": "ITI4",
	"13": "ITF1", "14": "ITF2", "15": "ITF3", "16": "ITF4", "17": "ITF5", "18": "ITF6",
	"19": "ITG1", "20": "ITG2",
}

// provinceRegions lists, for each ISTAT region code, the ISTAT codes of
// its provinces (and metropolitan cities), including those created since
// 1992 (e.g. 100 Prato, 102 Vibo Valentia, 108 Monza e Brianza).
var provinceRegions = map[string][]int{
	"01": {1, 2, 3, 4, 5, 6, 96, 103},
	"02": {7},
	"03": {12, 13, 14, 15, 16, 17, 18, 19, 20, 97, 98, 108},
	"05": {23, 24, 25, 26, 27, 28, 29},
	"06": {30, 31, 32, 93},
	"07": {8, 9, 10, 11},
	"08": {33, 34, 35, 36, 37, 38, 39, 40, 99},
	"09": {45, 46, 47, 48, 49, 50, 51, 52, 53, 100},
	"10": {54, 55},
	"11": {41, 42, 43, 44, 109},
	"12": {56, 57, 58, 59, 60},
	"13": {66, 67, 68, 69},
	"14": {70, 94},
	"15": {61, 62, 63, 64, 65},
	"16": {71, 72, 73, 74, 75, 110},
	"17": {76, 77},
	"18": {78, 79, 80, 101, 102},
	"19": {81, 82, 83, 84, 85, 86, 87, 88, 89},
	"20": {90, 91, 92, 95, 111},
}

// provinceNUTS is provinceRegions turned around, plus the two provinces of
// Trentino-Alto Adige, which are NUTS 2 regions themselves.
var provinceNUTS = func() map[int]string {
	m := map[int]string{21: "ITH1", 22: "ITH2"}
	for region, provinces := range provinceRegions {
		for _, p := range provinces {
			m[p] = istatRegions[region]
		}
	}
	return m
}()

func provinceRegion(code string) string {
	n := 0
	for _, r := range code {
		n = n*10 + int(r-'0')
	}
	return provinceNUTS[n]
}
