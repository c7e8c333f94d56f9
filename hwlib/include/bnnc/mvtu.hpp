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
    const ap_uint<SIMD> agree = ~(x ^ w);
    ap_uint<32> count = 0;
    for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
        count += agree[s];
    }
    return count;
}

// Dot product of SIMD decoded elements (integer MAC path for everything that is not bipolar x bipolar).
template <unsigned SIMD, typename TI, typename TW, typename TAcc>
inline TAcc mac(const ap_uint<SIMD * TI::bits> &x, const ap_uint<SIMD * TW::bits> &w) {
#pragma HLS INLINE
    TAcc sum = 0;
    for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
        sum += TW::decode(element<TW::bits>(w, s)) * TI::decode(element<TI::bits>(x, s));
    }
    return sum;
}

// Word storage inside the MVTU: ap_uint<W> in synthesis. In C simulation a word of any width is held in native
// 64-bit limbs with the same bits (LSB first, as rom_word), and the overloads below compute the same
// XNOR-popcount and dot product on them: ap_uint's arbitrary-precision machinery on every iteration is what made
// the C-sim slow, not the arithmetic (the tests run both paths, -DBNNC_SYNTHESIS_PATHS=1, and compare them).
template <unsigned W> struct native_word { unsigned long long c[(W + 63) / 64]; };   // C simulation only

template <unsigned W, bool NATIVE> struct word_store {
    typedef ap_uint<W> type;
    static type of(const ap_uint<W> &x) { return x; }
    template <typename ROM> static type rom(const ROM &w) { return rom_read<W>(w); }
};
template <unsigned W> struct word_store<W, true> {
    typedef native_word<W> type;
    static type of(const ap_uint<W> &x) {
        type r;
        if (W <= 64) {
            r.c[0] = x.to_uint64();
        } else {
            for (unsigned i = 0; i < (W + 63) / 64; i++) {
                const unsigned hi = 64 * (i + 1) < W ? 64 * (i + 1) : W;
                r.c[i] = ap_uint<64>(x(hi - 1, 64 * i)).to_uint64();
            }
        }
        return r;
    }
    static type rom(const rom_word<W> &w) {
        type r;
        for (unsigned i = 0; i < (W + 63) / 64; i++) r.c[i] = w.c[i];
        return r;
    }
    static type rom(const ap_uint<W> &w) { return of(w); }
};

#if !BNNC_SYNTHESIS_PATHS
// Raw bits of the B-bit element starting at bit `off` of a limb array (an element may straddle two limbs).
template <unsigned B, unsigned W> inline unsigned long long limb_bits(const native_word<W> &x, unsigned off) {
    const unsigned l = off / 64, sh = off % 64;
    unsigned long long v = x.c[l] >> sh;
    if (sh + B > 64) v |= x.c[l + 1] << (64 - sh);      // sh > 0 here, as B <= 64
    return B >= 64 ? v : v & ((1ULL << B) - 1);
}

// C simulation of native words (word_store): only the low SIMD bits (elements) count.
template <unsigned SIMD> inline long long xnor_popcount(const native_word<SIMD> &x, const native_word<SIMD> &w) {
    const unsigned N = (SIMD + 63) / 64;
    long long count = 0;
    for (unsigned i = 0; i + 1 < N; i++) count += __builtin_popcountll(~(x.c[i] ^ w.c[i]));
    return count + __builtin_popcountll(~(x.c[N - 1] ^ w.c[N - 1]) & (~0ULL >> (64 - (SIMD % 64 ? SIMD % 64 : 64))));
}

template <unsigned SIMD, typename TI, typename TW, typename TAcc>
inline long long mac(const native_word<SIMD * TI::bits> &x, const native_word<SIMD * TW::bits> &w) {
    long long s64 = 0;
    for (unsigned s = 0; s < SIMD; s++)
        s64 += TW::decode_ll(limb_bits<TW::bits>(w, s * TW::bits)) *
               TI::decode_ll(limb_bits<TI::bits>(x, s * TI::bits));
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

// The per-PE kernel of an MVTU iteration, chosen at compile time: XNOR-popcount (bipolar x bipolar) or MAC.
// (A run-time `if (XNOR)` would instantiate both on word types only one of them takes.)
template <bool XNOR> struct pe_kernel {
    template <unsigned SIMD, typename TI, typename TW, typename TAcc, typename X, typename W>
    static typename acc_store<TAcc>::type apply(const X &x, const W &w) { return mac<SIMD, TI, TW, TAcc>(x, w); }
};
template <> struct pe_kernel<true> {
    template <unsigned SIMD, typename TI, typename TW, typename TAcc, typename X, typename W>
    static typename acc_store<TAcc>::type apply(const X &x, const W &w) { return xnor_popcount<SIMD>(x, w); }
};

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
    static const bool NATIVE = !BNNC_SYNTHESIS_PATHS;     // C simulation: native limbs (word_store)
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
            acc[p] += acc_t(pe_kernel<XNOR>::template apply<SIMD, TI, TW, TAcc>(x, w));
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
