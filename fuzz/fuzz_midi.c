/* fuzz_midi: libFuzzer target for the untrusted-MIDI path. Any input goes
 * through smf_sanitize; an accepted output must be a fixed point of the
 * sanitiser and must load in libsmf in-process (a libsmf abort here is a
 * sanitiser bug), then midi_read_buffer builds a score, and (when the
 * tokenizer is built in) tok_encode/tok_decode run on it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/midi_read.h"
#include "data/smf_sanitize.h"
#include "util/log.h"
#ifdef FUZZ_WITH_TOKENIZER
#include "data/tokenizer.h"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_quiet(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    smf_limits lim;
    smf_limits_default(&lim);
    uint8_t *out, *again;
    size_t out_len, again_len;
    smf_report rep;
    char err[AURL_ERR_LEN];
    if (smf_sanitize(data, size, &lim, &out, &out_len, &rep, err) == 0) {
        if (smf_sanitize(out, out_len, &lim, &again, &again_len, &rep, err) != 0 || rep.repairs != 0 ||
            again_len != out_len || memcmp(out, again, out_len) != 0)
            abort(); /* canonical output must be a fixed point */
        free(again);
        free(out);
    }
    score s;
    if (midi_read_buffer(data, size, "fuzz", &s, NULL, err) == 0) {
        for (size_t i = 0; i < s.n_notes; i++)
            if (!(s.notes[i].offset >= s.notes[i].onset) || s.notes[i].velocity < 1 || s.notes[i].velocity > 127 ||
                s.notes[i].instrument >= SCORE_N_INSTRUMENTS)
                abort();
#ifdef FUZZ_WITH_TOKENIZER
        uint16_t *tok;
        size_t n_tok;
        if (tok_encode(&s, &tok, &n_tok) == 0) {
            score d;
            if (tok_decode(tok, n_tok, &d) == 0) score_free(&d);
            free(tok);
        }
#endif
        score_free(&s);
    }
    return 0;
}
