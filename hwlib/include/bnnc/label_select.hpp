// Top-k label selection (docs/ir.md, kind LabelSelect; FINN: LabelSelect).
//
// Reads N values (PE per word) and writes the indices of the K largest, one index per word, sorted by
// descending value. Ties go to the lower index (a stable sort): a later element only overtakes an
// entry it is strictly greater than. The sorted list lives in registers and is updated by a parallel
// insertion (each slot looks only at itself and the slot above).
#ifndef BNNC_LABEL_SELECT_HPP
#define BNNC_LABEL_SELECT_HPP

#include "types.hpp"

namespace bnnc {

template <unsigned N, unsigned K, unsigned PE, typename TI, typename TO>
void label_select(hls::stream<ap_uint<PE * TI::bits> > &in, hls::stream<ap_uint<TO::bits> > &out,
                  const unsigned reps) {
    static_assert(N % PE == 0, "PE must divide the number of labels");
    static_assert(K >= 1 && K <= N, "need 1 <= K <= N");
    typedef typename TI::value_t value_t;
    typedef ap_uint<TO::bits> index_t;

    for (unsigned r = 0; r < reps; r++) {
        value_t val[K];
        index_t idx[K];
        bool used[K];
#pragma HLS ARRAY_PARTITION variable=val complete
#pragma HLS ARRAY_PARTITION variable=idx complete
#pragma HLS ARRAY_PARTITION variable=used complete
        for (unsigned k = 0; k < K; k++) {
#pragma HLS UNROLL
            used[k] = false;
            val[k] = 0;
            idx[k] = 0;
        }
        for (unsigned i = 0; i < N / PE; i++) {
#pragma HLS PIPELINE II=1
            const ap_uint<PE * TI::bits> word = in.read();
            for (unsigned p = 0; p < PE; p++) {
#pragma HLS UNROLL
                const value_t v = TI::decode(element<TI::bits>(word, p));
                const index_t n = index_t(i * PE + p);
                bool beats[K];  // v belongs above slot k
                for (unsigned k = 0; k < K; k++) {
#pragma HLS UNROLL
                    beats[k] = !used[k] || v > val[k];
                }
                for (unsigned k = K; k-- > 0;) {  // bottom-up, so slot k-1 is still the old value
#pragma HLS UNROLL
                    if (beats[k]) {
                        if (k == 0 || !beats[k - 1]) {  // v lands exactly here
                            val[k] = v;
                            idx[k] = n;
                        } else {                        // shifted down by v
                            val[k] = val[k - 1];
                            idx[k] = idx[k - 1];
                        }
                        used[k] = true;
                    }
                }
            }
        }
        for (unsigned k = 0; k < K; k++) {
#pragma HLS PIPELINE II=1
            out.write(idx[k]);
        }
    }
}

}  // namespace bnnc

#endif
