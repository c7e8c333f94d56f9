// Matrix-vector-threshold unit (docs/ir.md, kind MVTU) with PE/SIMD folding.
//
// PE rows are computed in parallel, SIMD columns per cycle; one pipelined loop of
// NUM_VEC * NF * SF iterations per frame (NF = MH/PE neuron folds, SF = MW/SIMD synapse folds).
// The input vector is buffered on the first neuron fold and re-read for the other NF-1.
// Weight memory: weights[p][nf*SF + sf] packs weights[h = nf*PE + p, sf*SIMD + s] at element s.
// Thresholds:    thresholds[p][nf][t] is row h = nf*PE + p; for XNOR layers they are already in the
//                popcount domain (ceil((T + MW) / 2), converted by the code generator).
#ifndef BNNC_MVTU_HPP
#define BNNC_MVTU_HPP

#include "types.hpp"

namespace bnnc {

// XNOR-popcount of SIMD bipolar elements: number of positions where input and weight agree.
template <unsigned SIMD> inline ap_uint<32> xnor_popcount(const ap_uint<SIMD> &x, const ap_uint<SIMD> &w) {
#pragma HLS INLINE
#if BNNC_SYNTHESIS_PATHS
    const ap_uint<SIMD> agree = ~(x ^ w);
    ap_uint<32> count = 0;
    for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
        count += agree[s];
    }
#else
    // C simulation: the same count with the host's popcount, 64 bits at a time (an adder tree in hardware);
    // a word of at most 64 bits is XNORed as a native integer (its SIMD low bits kept), not as an ap_uint
    if (SIMD <= 64) {
        const unsigned long long mask = ~0ULL >> (64 - (SIMD % 64 ? SIMD % 64 : 64));
        return __builtin_popcountll(~(x.to_uint64() ^ w.to_uint64()) & mask);
    }
    const ap_uint<SIMD> agree = ~(x ^ w);
    ap_uint<32> count = 0;
    for (unsigned lo = 0; lo < SIMD; lo += 64) {
        const unsigned hi = lo + 64 < SIMD ? lo + 64 : SIMD;
        count += __builtin_popcountll(ap_uint<64>(agree(hi - 1, lo)).to_uint64());
    }
#endif
    return count;
}

// Dot product of SIMD decoded elements (integer MAC path for everything that is not bipolar x bipolar).
template <unsigned SIMD, typename TI, typename TW, typename TAcc>
inline TAcc mac(const ap_uint<SIMD * TI::bits> &x, const ap_uint<SIMD * TW::bits> &w) {
#pragma HLS INLINE
#if !BNNC_SYNTHESIS_PATHS
    // C simulation: the same exact sum on native integers when both words fit in 64 bits (the code generator
    // sizes TAcc, at most 64 bits, so that no partial sum overflows either way)
    if (SIMD * TI::bits <= 64 && SIMD * TW::bits <= 64) {
        const unsigned long long xs = x.to_uint64(), ws = w.to_uint64();
        const unsigned long long xm = TI::bits == 64 ? ~0ULL : (1ULL << TI::bits) - 1;
        const unsigned long long wm = TW::bits == 64 ? ~0ULL : (1ULL << TW::bits) - 1;
        long long s64 = 0;
        for (unsigned s = 0; s < SIMD; s++)
            s64 += TW::decode_ll((ws >> (s * TW::bits)) & wm) * TI::decode_ll((xs >> (s * TI::bits)) & xm);
        return TAcc(s64);
    }
#endif
    TAcc sum = 0;
    for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
        sum += TW::decode(element<TW::bits>(w, s)) * TI::decode(element<TI::bits>(x, s));
    }
    return sum;
}

// Word storage inside the MVTU: ap_uint<W> in synthesis. In C simulation a word of at most 64 bits is held
// in a native unsigned long long with the same bits, and the overloads below compute the same XNOR-popcount
// and dot product on it: ap_uint's arbitrary-precision machinery on every iteration is what made the C-sim
// slow, not the arithmetic (the tests run both paths, -DBNNC_SYNTHESIS_PATHS=1, and compare them).
struct native_word { unsigned long long v; };     // C simulation only: the bits of a word of <= 64 bits

template <unsigned W, bool NATIVE> struct word_store {
    typedef ap_uint<W> type;
    static type of(const ap_uint<W> &x) { return x; }
    template <typename ROM> static type rom(const ROM &w) { return rom_read<W>(w); }
};
template <unsigned W> struct word_store<W, true> {
    typedef native_word type;
    static type of(const ap_uint<W> &x) { type r = {x.to_uint64()}; return r; }
    static type rom(const rom_word<W> &w) { type r = {w.c[0]}; return r; }
    static type rom(const ap_uint<W> &w) { type r = {w.to_uint64()}; return r; }
};

#if !BNNC_SYNTHESIS_PATHS
// C simulation of native words (word_store): only the low SIMD bits (elements) count.
template <unsigned SIMD> inline long long xnor_popcount(native_word x, native_word w) {
    return __builtin_popcountll(~(x.v ^ w.v) & (~0ULL >> (64 - (SIMD % 64 ? SIMD % 64 : 64))));
}

template <unsigned SIMD, typename TI, typename TW, typename TAcc>
inline long long mac(native_word x, native_word w) {
    const unsigned long long xs = x.v, ws = w.v;
    const unsigned long long xm = TI::bits == 64 ? ~0ULL : (1ULL << (TI::bits % 64)) - 1;
    const unsigned long long wm = TW::bits == 64 ? ~0ULL : (1ULL << (TW::bits % 64)) - 1;
    long long s64 = 0;
    for (unsigned s = 0; s < SIMD; s++)
        s64 += TW::decode_ll((ws >> (s * TW::bits)) & wm) * TI::decode_ll((xs >> (s * TI::bits)) & xm);
    return s64;
}
#endif

// Accumulator storage: TAcc in synthesis; a native long long in C simulation, which holds the same values
// (the code generator sizes TAcc, at most 64 bits, so that no partial sum overflows) without ap_int's
// arithmetic on every iteration. Outputs convert back to TAcc, so the encoded results are identical.
#if BNNC_SYNTHESIS_PATHS
template <typename TAcc> struct acc_store { typedef TAcc type; };
#else
template <typename TAcc> struct acc_store { typedef long long type; };
#endif

// TI/TW/TO: element codecs (Bipolar, SInt<B>, UInt<B>) of input, weights and output.
// TAcc: signed accumulator wide enough for every partial sum; NT thresholds per row (ignored when NOACT).
// XNOR: input and weights both BIPOLAR; the accumulator then counts agreeing bits.
// NOACT: output the accumulator (value domain) instead of a threshold count.
// WROM/TROM: ROM element types (see rom_read in types.hpp).
template <unsigned MW, unsigned MH, unsigned SIMD, unsigned PE, unsigned NUM_VEC,
          typename TI, typename TW, typename TO, typename TAcc, unsigned NT,
          bool XNOR, bool NOACT, int OUT_BIAS, typename WROM, typename TROM>
void mvtu(hls::stream<ap_uint<SIMD * TI::bits> > &in, hls::stream<ap_uint<PE * TO::bits> > &out,
          const WROM weights[PE][(MH / PE) * (MW / SIMD)], const TROM thresholds[PE][MH / PE][NT],
          const unsigned reps) {
    static_assert(MH % PE == 0, "PE must divide MH");
    static_assert(MW % SIMD == 0, "SIMD must divide MW");
    static_assert(!XNOR || (TI::bipolar && TW::bipolar), "XNOR needs bipolar input and weights");
    const unsigned NF = MH / PE, SF = MW / SIMD;

    typedef typename acc_store<TAcc>::type acc_t;
    // native words only when both input and weight words fit 64 bits (the kernels take both or neither)
    static const bool NATIVE = !BNNC_SYNTHESIS_PATHS && SIMD * TI::bits <= 64 && SIMD * TW::bits <= 64;
    typedef word_store<SIMD * TI::bits, NATIVE> in_store;
    typedef word_store<SIMD * TW::bits, NATIVE> w_store;
    typename in_store::type inbuf[SF];
    acc_t acc[PE];
#pragma HLS ARRAY_PARTITION variable=acc complete dim=1
    unsigned nf = 0, sf = 0;

    for (unsigned i = 0; i < reps * NUM_VEC * NF * SF; i++) {
#pragma HLS PIPELINE II=1
        typename in_store::type x;
        if (nf == 0) {
            x = in_store::of(in.read());
            inbuf[sf] = x;
        } else {
            x = inbuf[sf];
        }
        if (sf == 0) {
            for (unsigned p = 0; p < PE; p++) {
#pragma HLS UNROLL
                acc[p] = 0;
            }
        }
        for (unsigned p = 0; p < PE; p++) {
#pragma HLS UNROLL
            const typename w_store::type w = w_store::rom(weights[p][nf * SF + sf]);
            if (XNOR) {
                acc[p] += acc_t(xnor_popcount<SIMD>(x, w));
            } else {
                acc[p] += acc_t(mac<SIMD, TI, TW, TAcc>(x, w));
            }
        }
        if (++sf == SF) {
            sf = 0;
            ap_uint<PE * TO::bits> word = 0;
            for (unsigned p = 0; p < PE; p++) {
#pragma HLS UNROLL
                if (NOACT) {
                    TAcc a = TAcc(acc[p]);
                    if (XNOR) a = TAcc(2 * a - TAcc(MW));  // popcount -> value domain
                    set_element<TO::bits>(word, p, TO::encode(a));
                } else {
                    const ap_uint<32> count = threshold_count<NT>(TAcc(acc[p]), thresholds[p][nf]);
                    if (TO::bipolar) {
                        set_element<TO::bits>(word, p, ap_uint<TO::bits>(count));  // +1 iff count == 1 (T == 1)
                    } else {
                        const ap_int<34> v = ap_int<34>(OUT_BIAS) + ap_int<34>(count);
                        set_element<TO::bits>(word, p, TO::encode(v));
                    }
                }
            }
            out.write(word);
            if (++nf == NF) nf = 0;
        }
    }
}

}  // namespace bnnc

#endif
