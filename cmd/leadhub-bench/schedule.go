package main

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// arrivals returns the send times, as offsets from the start, of an
// open-loop Poisson process of rate requests per second over d. The gaps
// are exponential, as between independent clients; the generator is seeded
// so that two runs with one seed offer exactly the same load.
func arrivals(rate float64, d time.Duration, seed uint64) []time.Duration {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]time.Duration, 0, int(rate*d.Seconds()*1.1)+16)
	at := 0.0 // seconds, kept as a float so the rounding does not add up
	for {
		at += rng.ExpFloat64() / rate
		off := time.Duration(at * float64(time.Second))
		if off >= d {
			return out
		}
		out = append(out, off)
	}
}

// sender is who a request comes from: one of the known population (the
// seeded client cards, phone +7 999 NNNNNNN) or somebody new (+7 998 ...,
// never seeded, so the hub must create a card).
type sender struct {
	known bool
	n     int64
}

// planSenders picks who each of n requests comes from: a share known of
// them uniformly among population known people, the rest new people. seed
// fixes who is known; fresh numbers the new people, and must differ from
// run to run, or the second run's new people would have cards already.
func planSenders(n int, known float64, population int, seed, fresh uint64) []sender {
	rng := rand.New(rand.NewPCG(seed, 2))
	newRNG := rand.New(rand.NewPCG(fresh, 3))
	out := make([]sender, n)
	for i := range out {
		if population > 0 && rng.Float64() < known {
			out[i] = sender{known: true, n: int64(rng.IntN(population))}
		} else {
			out[i] = sender{n: int64(newRNG.IntN(10_000_000))}
		}
	}
	return out
}

// phone is the sender's phone number in E.164; knownPhone must stay the
// format the seeding writes.
func (s sender) phone() string {
	if s.known {
		return knownPhone(s.n)
	}
	return fmt.Sprintf("+7998%07d", s.n)
}

func knownPhone(n int64) string { return fmt.Sprintf("+7999%07d", n) }

// telegramUser is the sender's Telegram user id; new people get ids apart
// from the known ones.
func (s sender) telegramUser() int64 {
	if s.known {
		return 500_000_000 + s.n
	}
	return 600_000_000 + s.n
}

func (s sender) name() string {
	if s.known {
		return fmt.Sprintf("Bench %d", s.n)
	}
	return fmt.Sprintf("New %d", s.n)
}
