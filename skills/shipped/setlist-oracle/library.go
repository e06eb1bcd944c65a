package main

// genres are the genres of the built-in library, in listing order.
var genres = []string{"techno", "house", "drumnbass", "ambient"}

// genreAliases maps normalised genre names (lower case, without spaces,
// dashes, ampersands and apostrophes) to a library genre.
var genreAliases = map[string]string{
	"techno": "techno", "house": "house", "ambient": "ambient",
	"drumnbass": "drumnbass", "drumandbass": "drumnbass", "drumbass": "drumnbass", "dnb": "drumnbass",
}

// library is the built-in crate build uses without tracks: 32 original
// (fictional) tracks across four genres, with keys, tempos and energies
// chosen so that each genre can make a harmonic set.
var library = []track{
	// Techno, 128–136 BPM, 67 minutes.
	lib("techno", "Cold Storage", "Vanta Grid", 128, "7A", 3, 452),
	lib("techno", "Hypnagogia", "Mirel Osk", 129, "7B", 4, 436),
	lib("techno", "Concrete Pulse", "Vanta Grid", 130, "8B", 5, 402),
	lib("techno", "Iron Dawn", "Kessler Unit", 131, "9B", 5, 388),
	lib("techno", "Substation", "Hollow Relay", 132, "9A", 6, 415),
	lib("techno", "Afterimage", "Mirel Osk", 133, "10A", 7, 371),
	lib("techno", "Oxide Bloom", "Kessler Unit", 134, "10B", 8, 376),
	lib("techno", "Strobe Theory", "Tessa Varn", 135, "11B", 9, 360),
	lib("techno", "Last Train Pankow", "Hollow Relay", 136, "11A", 10, 394),
	lib("techno", "Night Shift Ends", "Tessa Varn", 130, "8A", 6, 420),
	// House, 120–126 BPM, 63 minutes.
	lib("house", "Velvet Hour", "Lune Adair", 120, "4A", 3, 465),
	lib("house", "Sunday Service", "The Halyards", 121, "5A", 4, 448),
	lib("house", "Warm Static", "Lune Adair", 122, "5B", 5, 421),
	lib("house", "Basement Gospel", "Dorian Keys", 123, "6B", 6, 437),
	lib("house", "Paper Lanterns", "Soma Club", 124, "7A", 6, 410),
	lib("house", "Hands Up Slowly", "The Halyards", 124, "8A", 7, 398),
	lib("house", "Golden Floor", "Dorian Keys", 125, "7B", 8, 405),
	lib("house", "Long Distance Lovers", "Soma Club", 126, "8B", 9, 392),
	lib("house", "Last Call Disco", "Lune Adair", 122, "6A", 5, 430),
	// Drum and bass, 170–176 BPM, 40 minutes.
	lib("drumnbass", "Riverbed", "Kilo Frame", 170, "1A", 4, 320),
	lib("drumnbass", "Liquid Glass", "Nera Vale", 172, "2A", 5, 305),
	lib("drumnbass", "Signal Fire", "Kilo Frame", 172, "2B", 6, 298),
	lib("drumnbass", "Amen Circuit", "Breakline", 174, "3B", 8, 284),
	lib("drumnbass", "Pressure Zone", "Nera Vale", 174, "3A", 7, 310),
	lib("drumnbass", "Rollers Anthem", "Breakline", 175, "4A", 9, 276),
	lib("drumnbass", "Terminal Velocity", "Hexa", 176, "4B", 10, 268),
	lib("drumnbass", "Soft Landing", "Hexa", 170, "12A", 5, 330),
	// Ambient, 72–96 BPM, 43 minutes.
	lib("ambient", "Tidal Memory", "Orla Sund", 72, "6A", 1, 560),
	lib("ambient", "Salt Flats", "Ambrose Field", 80, "7A", 2, 540),
	lib("ambient", "Slow Weather", "Orla Sund", 85, "7B", 3, 500),
	lib("ambient", "Lantern Drift", "Ambrose Field", 90, "8B", 4, 480),
	lib("ambient", "Glasshouse", "Mira Tal", 96, "8A", 3, 520),
}

func lib(genre, title, artist string, bpm float64, key string, energy, durationSec int) track {
	k, ok := parseKey(key)
	if !ok {
		panic("setlist-oracle: bad library key " + key)
	}
	return track{Title: title, Artist: artist, Genre: genre, BPM: bpm, Key: key, Camelot: k, Energy: energy, DurationSec: durationSec}
}
