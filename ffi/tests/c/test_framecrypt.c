/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/*
 * Tests of the framecrypt C API, through ffi/include/framecrypt.h only.
 *
 * A plain C11 program with no test framework: every CHECK counts, a failed
 * one prints file:line, the expression and (for result codes) the
 * library's message for the code it got, and main() returns non-zero if
 * any check failed. Build and run it with ffi/run-c-tests.sh (which also
 * runs it under valgrind).
 */

#include "framecrypt.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Checks
 * ------------------------------------------------------------------------ */

static unsigned long checks_passed;
static unsigned long checks_failed;

static int check_true(int ok, const char *file, int line, const char *expr)
{
    if (ok) {
        checks_passed++;
        return 1;
    }
    checks_failed++;
    fprintf(stderr, "%s:%d: check failed: %s\n", file, line, expr);
    return 0;
}

static int check_code(uint32_t got, uint32_t want, const char *file, int line,
                      const char *call, const char *want_text)
{
    if (got == want) {
        checks_passed++;
        return 1;
    }
    checks_failed++;
    fprintf(stderr,
            "%s:%d: check failed: %s\n"
            "    returned %" PRIu32 " (%s)\n"
            "    expected %s = %" PRIu32 " (%s)\n",
            file, line, call, got, framecrypt_result_message(got), want_text,
            want, framecrypt_result_message(want));
    return 0;
}

static int check_u64(uint64_t got, uint64_t want, const char *file, int line,
                     const char *got_text, const char *want_text)
{
    if (got == want) {
        checks_passed++;
        return 1;
    }
    checks_failed++;
    fprintf(stderr,
            "%s:%d: check failed: %s == %s\n"
            "    left:  %" PRIu64 "\n"
            "    right: %" PRIu64 "\n",
            file, line, got_text, want_text, got, want);
    return 0;
}

static int check_bytes(const uint8_t *got, size_t got_len, const uint8_t *want,
                       size_t want_len, const char *file, int line,
                       const char *got_text, const char *want_text)
{
    size_t i;
    if (got_len == want_len && (want_len == 0 || memcmp(got, want, want_len) == 0)) {
        checks_passed++;
        return 1;
    }
    checks_failed++;
    fprintf(stderr, "%s:%d: check failed: bytes %s == %s\n    left  (%zu):",
            file, line, got_text, want_text, got_len);
    for (i = 0; i < got_len; i++) {
        fprintf(stderr, "%02x", got[i]);
    }
    fprintf(stderr, "\n    right (%zu):", want_len);
    for (i = 0; i < want_len; i++) {
        fprintf(stderr, "%02x", want[i]);
    }
    fprintf(stderr, "\n");
    return 0;
}

/* A condition. Evaluates to 1 if it held, 0 if not. */
#define CHECK(expr) check_true((expr) ? 1 : 0, __FILE__, __LINE__, #expr)
/* A call's result code. Evaluates to 1 if it was `want`, 0 if not. */
#define CHECK_RC(call, want)                                                   \
    check_code((uint32_t)(call), (uint32_t)(want), __FILE__, __LINE__, #call,  \
               #want)
#define CHECK_OK(call)                                                         \
    check_code((uint32_t)(call), (uint32_t)FRAMECRYPT_OK, __FILE__, __LINE__,  \
               #call, "FRAMECRYPT_OK")
/* Two unsigned integers, printed on failure. */
#define CHECK_U64(got, want)                                                   \
    check_u64((uint64_t)(got), (uint64_t)(want), __FILE__, __LINE__, #got,     \
              #want)
/* Two byte strings, printed in hex on failure. */
#define CHECK_BYTES(got, got_len, want, want_len)                              \
    check_bytes((got), (got_len), (want), (want_len), __FILE__, __LINE__,      \
                #got, #want)

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

#define BUF_LEN 512

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/*
 * Decodes the hex string `hex` into `out` (capacity `cap`) and returns the
 * number of bytes. A malformed or oversized string is a failed check and
 * decodes as empty.
 */
static size_t hex_decode(const char *hex, uint8_t *out, size_t cap)
{
    size_t len = strlen(hex);
    size_t i;
    if (!CHECK(len % 2 == 0 && len / 2 <= cap)) {
        fprintf(stderr, "    bad test hex string: \"%s\"\n", hex);
        return 0;
    }
    for (i = 0; i < len / 2; i++) {
        int hi = hex_digit(hex[2 * i]);
        int lo = hex_digit(hex[2 * i + 1]);
        if (!CHECK(hi >= 0 && lo >= 0)) {
            fprintf(stderr, "    bad test hex string: \"%s\"\n", hex);
            return 0;
        }
        out[i] = (uint8_t)((hi << 4) | lo);
    }
    return len / 2;
}

/* Whether `needle` occurs anywhere in `hay`. */
static int contains(const uint8_t *hay, size_t hay_len, const uint8_t *needle,
                    size_t needle_len)
{
    size_t i;
    if (needle_len == 0) {
        return 1;
    }
    for (i = 0; i + needle_len <= hay_len; i++) {
        if (memcmp(hay + i, needle, needle_len) == 0) {
            return 1;
        }
    }
    return 0;
}

/*
 * Whether any 4-byte piece of the plaintext `pt` occurs in `out`: after a
 * refused decrypt, none may.
 */
static int holds_plaintext(const uint8_t *out, size_t out_len, const uint8_t *pt,
                           size_t pt_len)
{
    size_t i;
    for (i = 0; i + 4 <= pt_len; i++) {
        if (contains(out, out_len, pt + i, 4)) {
            return 1;
        }
    }
    return 0;
}

/*
 * Encrypts a small frame with `sender` and checks that it carries CTR
 * `want`, i.e. that the calls since the previous frame used no counter
 * value.
 */
static void check_next_ctr(framecrypt_sender *sender, uint64_t want, const char *file,
                           int line)
{
    static const uint8_t probe[3] = {0x70, 0x72, 0x62};
    uint8_t frame[64];
    size_t frame_len = 0, header_len = 0;
    framecrypt_header header = {0, 0};

    if (check_code(framecrypt_sender_encrypt(sender, NULL, 0, probe, sizeof probe, frame,
                                             sizeof frame, &frame_len),
                   FRAMECRYPT_OK, file, line, "framecrypt_sender_encrypt(probe frame)",
                   "FRAMECRYPT_OK") &&
        check_code(framecrypt_header_parse(frame, frame_len, &header, &header_len),
                   FRAMECRYPT_OK, file, line, "framecrypt_header_parse(probe frame)",
                   "FRAMECRYPT_OK")) {
        check_u64(header.ctr, want, file, line, "CTR of the next frame", "expected CTR");
    }
}
#define CHECK_NEXT_CTR(sender, want) check_next_ctr((sender), (want), __FILE__, __LINE__)

/* ------------------------------------------------------------------------
 * Test vectors
 * ------------------------------------------------------------------------ */

struct sframe_vector {
    framecrypt_suite suite;
    uint64_t kid;
    uint64_t ctr;
    /* The suite's tag length Nt (RFC 9605 section 4.5; draft-barnes-sframe-iana-256). */
    size_t tag_len;
    const char *base_key;
    const char *metadata;
    const char *pt;
    const char *ct;
};

/*
 * Suites 1-5: the SFrame encryption test vectors of RFC 9605 Appendix C,
 * copied from tests/data/rfc9605-test-vectors.json ("sframe").
 * Suites 6-8: the AES-256-CTR-HMAC vectors of draft-barnes-sframe-iana-256,
 * copied from tests/data/aes256-ctr-hmac-test-vectors.json
 * ("sframe_aes_256_ctr_hmac").
 * Fields: cipher_suite, kid, ctr, (tag length), base_key, metadata, pt, ct.
 */
static const struct sframe_vector SFRAME_VECTORS[] = {
    {1, 291, 17767, 10,
     "000102030405060708090a0b0c0d0e0f",
     "4945544620534672616d65205747",
     "64726166742d696574662d736672616d652d656e63",
     "9901234567449408b6f490086165b9d6f62b24ae1a59a56486b4ae8ed036b88912e24f11"},
    {2, 291, 17767, 8,
     "000102030405060708090a0b0c0d0e0f",
     "4945544620534672616d65205747",
     "64726166742d696574662d736672616d652d656e63",
     "99012345673f31438db4d09434e43afa0f8a2f00867a2be085046a9f5cb4f101d607"},
    {3, 291, 17767, 4,
     "000102030405060708090a0b0c0d0e0f",
     "4945544620534672616d65205747",
     "64726166742d696574662d736672616d652d656e63",
     "990123456717fc8af28a5a695afcfc6c8df6358a17e26b2fcb3bae32e443"},
    {4, 291, 17767, 16,
     "000102030405060708090a0b0c0d0e0f",
     "4945544620534672616d65205747",
     "64726166742d696574662d736672616d652d656e63",
     "9901234567b7412c2513a1b66dbb48841bbaf17f598751176ad847681a69c6d0b091c07018ce4adb34eb"},
    {5, 291, 17767, 16,
     "000102030405060708090a0b0c0d0e0f",
     "4945544620534672616d65205747",
     "64726166742d696574662d736672616d652d656e63",
     "990123456794f509d36e9beacb0e261d99c7d1e972f1fed787d4049f17ca21353c1cc24d56ceabced279"},
    {6, 291, 17767, 10,
     "000102030405060708090a0b0c0d0e0f",
     "4945544620534672616d65205747",
     "64726166742d696574662d736672616d652d656e63",
     "9901234567b369e03ec6467ad505ddc84914115069280c5c797555be6e32cde6ac25bc9e"},
    {7, 291, 17767, 8,
     "000102030405060708090a0b0c0d0e0f",
     "4945544620534672616d65205747",
     "64726166742d696574662d736672616d652d656e63",
     "990123456797cb5644d8831ff8bdc080249990b24b569144cab2a87be22c20d97976"},
    {8, 291, 17767, 4,
     "000102030405060708090a0b0c0d0e0f",
     "4945544620534672616d65205747",
     "64726166742d696574662d736672616d652d656e63",
     "9901234567112a94a288b85b49ffef1d279f2830165c39d76cac8884011c"},
};

struct header_vector {
    uint64_t kid;
    uint64_t ctr;
    const char *encoded;
};

/*
 * A selection of the 289 header encoding vectors of RFC 9605 Appendix C,
 * copied from tests/data/rfc9605-test-vectors.json ("header").
 */
static const struct header_vector HEADER_VECTORS[] = {
    {0, 0, "00"},
    {1, 1, "11"},
    {0, 255, "08ff"},
    {255, 0, "80ff"},
    {256, 256, "9901000100"},
    {65535, 65536, "9affff010000"},
    {UINT64_C(4294967296), UINT64_C(1099511627775), "cc0100000000ffffffffff"},
    {0, UINT64_MAX, "0fffffffffffffffff"},
    {UINT64_MAX, 0, "f0ffffffffffffffff"},
    {UINT64_MAX, UINT64_MAX, "ffffffffffffffffffffffffffffffffff"},
};

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* The largest SFrame header: config byte, 8-byte KID, 8-byte CTR. */
#define MAX_HEADER_LEN 17

/* ------------------------------------------------------------------------
 * Version and result messages
 * ------------------------------------------------------------------------ */

static void test_version_and_messages(void)
{
    static const uint32_t codes[] = {
        FRAMECRYPT_OK,
        FRAMECRYPT_ERR_NULL_POINTER,
        FRAMECRYPT_ERR_BUFFERS_OVERLAP,
        FRAMECRYPT_ERR_WRONG_KIND,
        FRAMECRYPT_ERR_LENGTH_TOO_LARGE,
        FRAMECRYPT_ERR_INTERNAL,
        FRAMECRYPT_ERR_INVALID_HANDLE,
        FRAMECRYPT_ERR_WRONG_OBJECT,
        FRAMECRYPT_ERR_MALFORMED_HEADER,
        FRAMECRYPT_ERR_UNKNOWN_KEY_ID,
        FRAMECRYPT_ERR_FRAME_TOO_SHORT,
        FRAMECRYPT_ERR_AUTHENTICATION_FAILED,
        FRAMECRYPT_ERR_COUNTER_EXHAUSTED,
        FRAMECRYPT_ERR_BUFFER_TOO_SMALL,
        FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE,
        FRAMECRYPT_ERR_INVALID_KEY_LENGTH,
        FRAMECRYPT_ERR_TOO_FAR_AHEAD,
        FRAMECRYPT_ERR_KEY_EXPIRED,
        FRAMECRYPT_ERR_REPLAYED,
        FRAMECRYPT_ERR_STALE_KEY,
        FRAMECRYPT_ERR_KEY_ID_EXHAUSTED,
        FRAMECRYPT_ERR_INVALID_PARAMETER,
        FRAMECRYPT_ERR_MALFORMED_FRAME,
        FRAMECRYPT_ERR_UNSUPPORTED_CODEC,
    };
    static const uint32_t unknown_codes[] = {8, 99, 106, 109, 116, 119, 125, 1000, UINT32_MAX};
    const char *version = framecrypt_version();
    size_t i, j;

    CHECK(version != NULL);
    if (version != NULL) {
        CHECK(strlen(version) > 0);
        CHECK(version[0] >= '0' && version[0] <= '9');
        CHECK(framecrypt_version() == version); /* static */
    }

    for (i = 0; i < COUNT(codes); i++) {
        const char *message = framecrypt_result_message(codes[i]);
        if (!CHECK(message != NULL)) {
            continue;
        }
        if (!CHECK(strlen(message) > 0 && strcmp(message, "unknown result code") != 0)) {
            fprintf(stderr, "    code %" PRIu32 ": \"%s\"\n", codes[i], message);
        }
        /* One message per code. */
        for (j = 0; j < i; j++) {
            if (!CHECK(strcmp(message, framecrypt_result_message(codes[j])) != 0)) {
                fprintf(stderr, "    codes %" PRIu32 " and %" PRIu32 " share \"%s\"\n",
                        codes[i], codes[j], message);
            }
        }
    }
    for (i = 0; i < COUNT(unknown_codes); i++) {
        const char *message = framecrypt_result_message(unknown_codes[i]);
        CHECK(message != NULL && strcmp(message, "unknown result code") == 0);
    }
}

/* ------------------------------------------------------------------------
 * Header parsing (RFC 9605 Appendix C header vectors)
 * ------------------------------------------------------------------------ */

static void test_header_vectors(void)
{
    size_t i, cut;
    for (i = 0; i < COUNT(HEADER_VECTORS); i++) {
        const struct header_vector *v = &HEADER_VECTORS[i];
        uint8_t encoded[MAX_HEADER_LEN + 4];
        size_t len = hex_decode(v->encoded, encoded, MAX_HEADER_LEN);
        framecrypt_header header = {0, 0};
        size_t header_len = 0;

        if (CHECK_OK(framecrypt_header_parse(encoded, len, &header, &header_len))) {
            CHECK_U64(header.kid, v->kid);
            CHECK_U64(header.ctr, v->ctr);
            CHECK_U64(header_len, len);
        }
        /* Bytes after the header are not part of it. */
        encoded[len] = 0xa5;
        encoded[len + 1] = 0x5a;
        if (CHECK_OK(framecrypt_header_parse(encoded, len + 2, &header, &header_len))) {
            CHECK_U64(header.kid, v->kid);
            CHECK_U64(header.ctr, v->ctr);
            CHECK_U64(header_len, len);
        }
        /* Every proper prefix is truncated. */
        for (cut = 0; cut < len; cut++) {
            CHECK_RC(framecrypt_header_parse(encoded, cut, &header, &header_len),
                     FRAMECRYPT_ERR_MALFORMED_HEADER);
        }
    }
}

/* ------------------------------------------------------------------------
 * SFrame known-answer tests
 * ------------------------------------------------------------------------ */

/* Decrypting the vector's ct gives its pt, KID and CTR; every tampering is
 * refused and leaves no plaintext in the output. */
static void test_vector_decrypt(const struct sframe_vector *v)
{
    uint8_t key[64], metadata[64], pt[BUF_LEN], ct[BUF_LEN], bad[BUF_LEN];
    uint8_t out[BUF_LEN];
    size_t key_len = hex_decode(v->base_key, key, sizeof key);
    size_t md_len = hex_decode(v->metadata, metadata, sizeof metadata);
    size_t pt_len = hex_decode(v->pt, pt, sizeof pt);
    size_t ct_len = hex_decode(v->ct, ct, sizeof ct);
    framecrypt_receiver *receiver = NULL;
    framecrypt_header header = {0, 0};
    size_t header_len = 0, out_len = 0;
    size_t flip;

    /* The header, and the frame's layout: header || ciphertext || tag. */
    if (CHECK_OK(framecrypt_header_parse(ct, ct_len, &header, &header_len))) {
        CHECK_U64(header.kid, v->kid);
        CHECK_U64(header.ctr, v->ctr);
        CHECK_U64(header_len, ct_len - pt_len - v->tag_len);
    }

    if (!CHECK_OK(framecrypt_receiver_new(&receiver))) {
        return;
    }
    CHECK(receiver != NULL);
    CHECK_OK(framecrypt_receiver_add_key(receiver, v->suite, v->kid, key, key_len));

    /* The output must hold the plaintext: one byte fewer is refused, with
     * nothing written. */
    memset(out, 0, sizeof out);
    CHECK_RC(framecrypt_receiver_decrypt(receiver, 0, metadata, md_len, ct, ct_len, out,
                                         pt_len - 1, &out_len, &header),
             FRAMECRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK_RC(framecrypt_receiver_decrypt(receiver, 0, metadata, md_len, ct, ct_len, out, 0,
                                         &out_len, &header),
             FRAMECRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK(!holds_plaintext(out, sizeof out, pt, pt_len));

    /* A flipped bit anywhere after the header's KID: the CTR, the
     * ciphertext, the tag. */
    for (flip = header_len - 1; flip < ct_len; flip++) {
        memcpy(bad, ct, ct_len);
        bad[flip] ^= 0x01;
        memset(out, 0, sizeof out);
        if (!CHECK_RC(framecrypt_receiver_decrypt(receiver, 0, metadata, md_len, bad,
                                                  ct_len, out, sizeof out, &out_len, NULL),
                      FRAMECRYPT_ERR_AUTHENTICATION_FAILED)) {
            fprintf(stderr, "    (bit flipped in byte %zu of %zu)\n", flip, ct_len);
        }
        /* No plaintext, not even a piece of it, reaches the output. */
        if (!CHECK(!holds_plaintext(out, sizeof out, pt, pt_len))) {
            fprintf(stderr, "    (bit flipped in byte %zu of %zu)\n", flip, ct_len);
        }
    }
    /* Nor does a failure leave the plaintext in an output buffer that held
     * something else before. */
    memcpy(bad, ct, ct_len);
    bad[ct_len - 1] ^= 0x80; /* the tag's last byte */
    memset(out, 0xee, sizeof out);
    CHECK_RC(framecrypt_receiver_decrypt(receiver, 0, metadata, md_len, bad, ct_len, out,
                                         sizeof out, &out_len, NULL),
             FRAMECRYPT_ERR_AUTHENTICATION_FAILED);
    CHECK(memcmp(out, pt, pt_len) != 0);

    /* Wrong metadata: one byte changed, one byte missing, none. */
    memcpy(bad, metadata, md_len);
    bad[0] ^= 0x20;
    CHECK_RC(framecrypt_receiver_decrypt(receiver, 0, bad, md_len, ct, ct_len, out,
                                         sizeof out, &out_len, NULL),
             FRAMECRYPT_ERR_AUTHENTICATION_FAILED);
    CHECK(memcmp(out, pt, pt_len) != 0);
    CHECK_RC(framecrypt_receiver_decrypt(receiver, 0, metadata, md_len - 1, ct, ct_len,
                                         out, sizeof out, &out_len, NULL),
             FRAMECRYPT_ERR_AUTHENTICATION_FAILED);
    CHECK_RC(framecrypt_receiver_decrypt(receiver, 0, NULL, 0, ct, ct_len, out, sizeof out,
                                         &out_len, NULL),
             FRAMECRYPT_ERR_AUTHENTICATION_FAILED);
    CHECK(memcmp(out, pt, pt_len) != 0);

    /* Truncated: the header, then the tag. */
    CHECK_RC(framecrypt_receiver_decrypt(receiver, 0, metadata, md_len, ct, 0, out,
                                         sizeof out, &out_len, NULL),
             FRAMECRYPT_ERR_MALFORMED_HEADER);
    CHECK_RC(framecrypt_receiver_decrypt(receiver, 0, metadata, md_len, ct, header_len - 1,
                                         out, sizeof out, &out_len, NULL),
             FRAMECRYPT_ERR_MALFORMED_HEADER);
    CHECK_RC(framecrypt_receiver_decrypt(receiver, 0, metadata, md_len, ct,
                                         header_len + v->tag_len - 1, out, sizeof out,
                                         &out_len, NULL),
             FRAMECRYPT_ERR_FRAME_TOO_SHORT);
    /* Header and tag only: an empty plaintext that does not authenticate. */
    CHECK_RC(framecrypt_receiver_decrypt(receiver, 0, metadata, md_len, ct,
                                         header_len + v->tag_len, out, sizeof out,
                                         &out_len, NULL),
             FRAMECRYPT_ERR_AUTHENTICATION_FAILED);

    /* None of the failures above moved the replay window: the frame opens,
     * once, and then is refused as a replay. Fresh receivers show that
     * the output may be exactly ct_len (the capacity the header asks for)
     * or exactly pt_len bytes, and that header_out is optional. */
    memset(out, 0, sizeof out);
    if (CHECK_OK(framecrypt_receiver_decrypt(receiver, 0, metadata, md_len, ct, ct_len,
                                             out, sizeof out, &out_len, &header))) {
        CHECK_BYTES(out, out_len, pt, pt_len);
        CHECK_U64(header.kid, v->kid);
        CHECK_U64(header.ctr, v->ctr);
    }
    CHECK_RC(framecrypt_receiver_decrypt(receiver, 0, metadata, md_len, ct, ct_len, out,
                                         sizeof out, &out_len, NULL),
             FRAMECRYPT_ERR_REPLAYED);
    {
        size_t capacity[2] = {ct_len, pt_len};
        size_t i;
        for (i = 0; i < 2; i++) {
            framecrypt_receiver *fresh = NULL;
            if (!CHECK_OK(framecrypt_receiver_new(&fresh))) {
                continue;
            }
            CHECK_OK(framecrypt_receiver_add_key(fresh, v->suite, v->kid, key, key_len));
            memset(out, 0, sizeof out);
            out_len = 0;
            if (CHECK_OK(framecrypt_receiver_decrypt(fresh, 0, metadata, md_len, ct, ct_len,
                                                     out, capacity[i], &out_len, NULL))) {
                CHECK_BYTES(out, out_len, pt, pt_len);
            }
            framecrypt_receiver_free(fresh);
        }
    }

    /* Another KID: no key. Then the key removed: no key either. */
    memcpy(bad, ct, ct_len);
    bad[2] ^= 0x01; /* 0x0123 -> 0x0122 */
    CHECK_RC(framecrypt_receiver_decrypt(receiver, 0, metadata, md_len, bad, ct_len, out,
                                         sizeof out, &out_len, NULL),
             FRAMECRYPT_ERR_UNKNOWN_KEY_ID);
    {
        bool removed = false;
        CHECK_OK(framecrypt_receiver_remove_key(receiver, v->kid, &removed));
        CHECK(removed);
        CHECK_OK(framecrypt_receiver_remove_key(receiver, v->kid, &removed));
        CHECK(!removed);
        CHECK_OK(framecrypt_receiver_remove_key(receiver, v->kid, NULL));
    }
    CHECK_RC(framecrypt_receiver_decrypt(receiver, 0, metadata, md_len, ct, ct_len, out,
                                         sizeof out, &out_len, NULL),
             FRAMECRYPT_ERR_UNKNOWN_KEY_ID);

    /* The key under another suite does not open the frame. */
    CHECK_OK(framecrypt_receiver_add_key(receiver,
                                         (framecrypt_suite)(v->suite == 1 ? 2 : v->suite - 1),
                                         v->kid, key, key_len));
    CHECK(framecrypt_receiver_decrypt(receiver, 0, metadata, md_len, ct, ct_len, out,
                                      sizeof out, &out_len, NULL) != FRAMECRYPT_OK);

    framecrypt_receiver_free(receiver);
}

/* A sender with the vector's suite, KID and key: its first frame has CTR 0
 * and decrypts to the plaintext; and a sender resumed at the vector's CTR
 * (framecrypt_sender_resume) makes the vector's ct exactly, byte for byte. */
static void test_vector_encrypt(const struct sframe_vector *v)
{
    uint8_t key[64], metadata[64], pt[BUF_LEN], ct[BUF_LEN], frame[BUF_LEN];
    uint8_t out[BUF_LEN];
    size_t key_len = hex_decode(v->base_key, key, sizeof key);
    size_t md_len = hex_decode(v->metadata, metadata, sizeof metadata);
    size_t pt_len = hex_decode(v->pt, pt, sizeof pt);
    size_t ct_len = hex_decode(v->ct, ct, sizeof ct);
    framecrypt_sender *sender = NULL;
    framecrypt_receiver *receiver = NULL;
    framecrypt_header header = {0, 0};
    size_t header_len = 0, frame_len = 0, out_len = 0, next_len = 0;
    uint64_t kid = 0, ctr = 0;

    if (!CHECK_OK(framecrypt_sender_new(v->suite, v->kid, key, key_len, &sender))) {
        return;
    }
    CHECK(sender != NULL);
    CHECK_OK(framecrypt_sender_kid(sender, &kid));
    CHECK_U64(kid, v->kid);
    CHECK_OK(framecrypt_receiver_new(&receiver));
    CHECK_OK(framecrypt_receiver_add_key(receiver, v->suite, v->kid, key, key_len));

    /* One byte short: refused, and no counter value used. */
    CHECK_OK(framecrypt_sender_encrypted_len(sender, pt_len, &next_len));
    CHECK_RC(framecrypt_sender_encrypt(sender, metadata, md_len, pt, pt_len, frame,
                                       next_len - 1, &frame_len),
             FRAMECRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK_RC(framecrypt_sender_encrypt(sender, metadata, md_len, pt, pt_len, frame, 0,
                                       &frame_len),
             FRAMECRYPT_ERR_BUFFER_TOO_SMALL);
    ctr = 99;
    CHECK_OK(framecrypt_sender_next_counter(sender, &ctr));
    CHECK_U64(ctr, 0);

    /* The first frame: CTR 0, exactly next_len bytes. */
    if (CHECK_OK(framecrypt_sender_encrypt(sender, metadata, md_len, pt, pt_len, frame,
                                           next_len, &frame_len))) {
        CHECK_U64(frame_len, next_len);
        if (CHECK_OK(framecrypt_header_parse(frame, frame_len, &header, &header_len))) {
            CHECK_U64(header.kid, v->kid);
            CHECK_U64(header.ctr, 0);
            CHECK_U64(frame_len, header_len + pt_len + v->tag_len);
        }
        CHECK(!holds_plaintext(frame, frame_len, pt, pt_len)); /* encrypted */
        if (CHECK_OK(framecrypt_receiver_decrypt(receiver, 0, metadata, md_len, frame,
                                                 frame_len, out, sizeof out, &out_len,
                                                 &header))) {
            CHECK_BYTES(out, out_len, pt, pt_len);
            CHECK_U64(header.kid, v->kid);
            CHECK_U64(header.ctr, 0);
        }
    }

    /* The vector's frame, from a sender resumed at the vector's CTR. */
    framecrypt_sender_free(sender);
    sender = NULL;
    if (CHECK_OK(framecrypt_sender_resume(v->suite, v->kid, key, key_len, v->ctr,
                                          &sender))) {
        CHECK(sender != NULL);
        kid = 0;
        CHECK_OK(framecrypt_sender_kid(sender, &kid));
        CHECK_U64(kid, v->kid);
        ctr = 0;
        CHECK_OK(framecrypt_sender_next_counter(sender, &ctr));
        CHECK_U64(ctr, v->ctr);
        CHECK_OK(framecrypt_sender_encrypted_len(sender, pt_len, &next_len));
        CHECK_U64(next_len, ct_len);
        memset(frame, 0, sizeof frame);
        frame_len = 0;
        if (CHECK_OK(framecrypt_sender_encrypt(sender, metadata, md_len, pt, pt_len, frame,
                                               sizeof frame, &frame_len))) {
            CHECK_BYTES(frame, frame_len, ct, ct_len);
            if (CHECK_OK(framecrypt_receiver_decrypt(receiver, 0, metadata, md_len, frame,
                                                     frame_len, out, sizeof out, &out_len,
                                                     &header))) {
                CHECK_BYTES(out, out_len, pt, pt_len);
                CHECK_U64(header.kid, v->kid);
                CHECK_U64(header.ctr, v->ctr);
            }
        }
        /* One counter value used. */
        CHECK_OK(framecrypt_sender_next_counter(sender, &ctr));
        CHECK_U64(ctr, v->ctr + 1);
    }

    framecrypt_receiver_free(receiver);
    framecrypt_sender_free(sender);
}

/* ------------------------------------------------------------------------
 * Arguments: suites, key lengths, NULL, overlap, object kinds
 * ------------------------------------------------------------------------ */

static const uint8_t KEY16[16] = {0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
                                  0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};
static const uint8_t KEY16_B[16] = {0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
                                    0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f};

static void test_suites_and_keys(void)
{
    /* Not suites: 0, 9, 0xffff, and values of the other two enums. */
    static const uint32_t bad_suites[] = {0, 9, 0xffff, FRAMECRYPT_CODEC_VP8,
                                          FRAMECRYPT_FALLBACK_REJECT};
    uint8_t long_key[129];
    framecrypt_sender *sender = NULL;
    framecrypt_receiver *receiver = NULL;
    framecrypt_sender *ratcheting = NULL;
    size_t i, len = 0;
    int suite;

    memset(long_key, 0x42, sizeof long_key);

    if (!CHECK_OK(framecrypt_receiver_new(&receiver))) {
        return;
    }

    for (i = 0; i < COUNT(bad_suites); i++) {
        sender = NULL;
        const framecrypt_suite bad = (framecrypt_suite)bad_suites[i];
        CHECK_RC(framecrypt_sender_new(bad, 1, KEY16, sizeof KEY16, &sender),
                 FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE);
        CHECK(sender == NULL);
        CHECK_RC(framecrypt_sender_new_ratcheting(bad, 4, 1, KEY16, sizeof KEY16, &sender),
                 FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE);
        CHECK(sender == NULL);
        CHECK_RC(framecrypt_receiver_add_key(receiver, bad, 1, KEY16, sizeof KEY16),
                 FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE);
        {
            framecrypt_receiver *r = NULL;
            CHECK_RC(framecrypt_receiver_new_ratcheting(bad, 4, &r),
                     FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE);
            CHECK(r == NULL);
        }
    }

    /* Every suite 1-8 is accepted, with keys of 1 and 128 bytes. */
    for (suite = FRAMECRYPT_SUITE_AES_128_CTR_HMAC_SHA256_80;
         suite <= FRAMECRYPT_SUITE_AES_256_CTR_HMAC_SHA512_32; suite++) {
        sender = NULL;
        if (CHECK_OK(framecrypt_sender_new((framecrypt_suite)suite, 7, long_key, 1, &sender))) {
            framecrypt_sender_free(sender);
        }
        sender = NULL;
        if (CHECK_OK(framecrypt_sender_new((framecrypt_suite)suite, 7, long_key,
                                           FRAMECRYPT_MAX_KEY_LEN, &sender))) {
            /* Header (1 byte here: KID 7, CTR 0) and tag (4 to 16 bytes). */
            if (CHECK_OK(framecrypt_sender_encrypted_len(sender, 0, &len))) {
                CHECK(len >= 1 + 4 && len <= 1 + 16);
            }
            framecrypt_sender_free(sender);
        }
    }

    /* Empty and 129-byte keys. */
    sender = NULL;
    CHECK_RC(framecrypt_sender_new(4, 1, KEY16, 0, &sender),
             FRAMECRYPT_ERR_INVALID_KEY_LENGTH);
    CHECK_RC(framecrypt_sender_new(4, 1, NULL, 0, &sender),
             FRAMECRYPT_ERR_INVALID_KEY_LENGTH);
    CHECK_RC(framecrypt_sender_new(4, 1, long_key, 129, &sender),
             FRAMECRYPT_ERR_INVALID_KEY_LENGTH);
    CHECK(sender == NULL);
    CHECK_RC(framecrypt_sender_new_ratcheting(4, 4, 1, KEY16, 0, &sender),
             FRAMECRYPT_ERR_INVALID_KEY_LENGTH);
    CHECK_RC(framecrypt_sender_new_ratcheting(4, 4, 1, long_key, 129, &sender),
             FRAMECRYPT_ERR_INVALID_KEY_LENGTH);
    CHECK(sender == NULL);
    CHECK_RC(framecrypt_receiver_add_key(receiver, 4, 1, KEY16, 0),
             FRAMECRYPT_ERR_INVALID_KEY_LENGTH);
    CHECK_RC(framecrypt_receiver_add_key(receiver, 4, 1, long_key, 129),
             FRAMECRYPT_ERR_INVALID_KEY_LENGTH);

    /* Ratchet bits must be 1 to 63; the generation must fit above them. */
    CHECK_RC(framecrypt_sender_new_ratcheting(4, 0, 0, KEY16, sizeof KEY16, &sender),
             FRAMECRYPT_ERR_INVALID_PARAMETER);
    CHECK_RC(framecrypt_sender_new_ratcheting(4, 64, 0, KEY16, sizeof KEY16, &sender),
             FRAMECRYPT_ERR_INVALID_PARAMETER);
    CHECK_RC(framecrypt_sender_new_ratcheting(4, 63, 2, KEY16, sizeof KEY16, &sender),
             FRAMECRYPT_ERR_INVALID_PARAMETER);
    CHECK(sender == NULL);
    {
        framecrypt_receiver *r = NULL;
        CHECK_RC(framecrypt_receiver_new_ratcheting(4, 0, &r),
                 FRAMECRYPT_ERR_INVALID_PARAMETER);
        CHECK_RC(framecrypt_receiver_new_ratcheting(4, 64, &r),
                 FRAMECRYPT_ERR_INVALID_PARAMETER);
        CHECK(r == NULL);
    }
    if (CHECK_OK(framecrypt_sender_new_ratcheting(4, 63, 1, KEY16, sizeof KEY16,
                                                  &ratcheting))) {
        uint64_t kid = 0;
        CHECK_OK(framecrypt_sender_kid(ratcheting, &kid));
        CHECK_U64(kid, UINT64_C(1) << 63);
        /* Generation 1 is the last one 63 bits leave. */
        CHECK_RC(framecrypt_sender_rekey(ratcheting, KEY16_B, sizeof KEY16_B),
                 FRAMECRYPT_ERR_KEY_ID_EXHAUSTED);
        CHECK_OK(framecrypt_sender_kid(ratcheting, &kid));
        CHECK_U64(kid, UINT64_C(1) << 63);
        framecrypt_sender_free(ratcheting);
    }

    framecrypt_receiver_free(receiver);
}

static void test_null_pointers(void)
{
    uint8_t frame[BUF_LEN], out[BUF_LEN];
    const uint8_t pt[5] = {1, 2, 3, 4, 5};
    framecrypt_sender *sender = NULL;
    framecrypt_receiver *receiver = NULL;
    framecrypt_header header = {0, 0};
    framecrypt_sfu_view view = {.struct_size = sizeof(framecrypt_sfu_view)};
    size_t frame_len = 0, out_len = 0, header_len = 0, len = 0;
    uint64_t kid = 0;

    memset(frame, 0, sizeof frame);

    /* Out-pointers for new objects. */
    CHECK_RC(framecrypt_sender_new(4, 1, KEY16, sizeof KEY16, NULL),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_sender_new_ratcheting(4, 4, 1, KEY16, sizeof KEY16, NULL),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_receiver_new(NULL), FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_receiver_new_ratcheting(4, 4, NULL), FRAMECRYPT_ERR_NULL_POINTER);

    /* A NULL key with a length. */
    CHECK_RC(framecrypt_sender_new(4, 1, NULL, 16, &sender), FRAMECRYPT_ERR_NULL_POINTER);
    CHECK(sender == NULL);

    if (!CHECK_OK(framecrypt_sender_new(4, 9, KEY16, sizeof KEY16, &sender)) ||
        !CHECK_OK(framecrypt_receiver_new(&receiver))) {
        framecrypt_sender_free(sender);
        return;
    }
    CHECK_OK(framecrypt_receiver_add_key(receiver, 4, 9, KEY16, sizeof KEY16));
    CHECK_RC(framecrypt_receiver_add_key(receiver, 4, 9, NULL, 16),
             FRAMECRYPT_ERR_NULL_POINTER);

    /* NULL objects. */
    CHECK_RC(framecrypt_sender_kid(NULL, &kid), FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_sender_encrypted_len(NULL, 5, &len), FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_sender_encrypt(NULL, NULL, 0, pt, sizeof pt, frame, sizeof frame,
                                       &frame_len),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_sender_ratchet(NULL), FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_sender_rekey(NULL, KEY16, sizeof KEY16), FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_receiver_add_key(NULL, 4, 9, KEY16, sizeof KEY16),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_receiver_remove_key(NULL, 9, NULL), FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_receiver_install_key(NULL, 0, 1, 0, KEY16, sizeof KEY16),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_receiver_decrypt(NULL, 0, NULL, 0, frame, 30, out, sizeof out,
                                         &out_len, NULL),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_sender_protect(NULL, FRAMECRYPT_CODEC_OPUS, FRAMECRYPT_FALLBACK_REJECT, pt,
                                sizeof pt, frame, sizeof frame, &frame_len, NULL),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_receiver_unprotect(NULL, 0, FRAMECRYPT_CODEC_OPUS, FRAMECRYPT_FALLBACK_REJECT,
                                  frame, 30, out, sizeof out, &out_len, NULL),
             FRAMECRYPT_ERR_NULL_POINTER);

    /* NULL out-pointers, and NULL buffers with a length. None of these
     * uses a counter value. */
    CHECK_RC(framecrypt_sender_kid(sender, NULL), FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_sender_encrypted_len(sender, 5, NULL), FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_sender_encrypt(sender, NULL, 0, pt, sizeof pt, frame, sizeof frame,
                                       NULL),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_NEXT_CTR(sender, 0);
    CHECK_RC(framecrypt_sender_encrypt(sender, NULL, 0, NULL, 5, frame, sizeof frame,
                                       &frame_len),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_NEXT_CTR(sender, 1);
    CHECK_RC(framecrypt_sender_encrypt(sender, NULL, 3, pt, sizeof pt, frame, sizeof frame,
                                       &frame_len),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_NEXT_CTR(sender, 2);
    CHECK_RC(framecrypt_sender_encrypt(sender, NULL, 0, pt, sizeof pt, NULL, sizeof frame,
                                       &frame_len),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_NEXT_CTR(sender, 3);
    CHECK_RC(framecrypt_sender_protect(sender, FRAMECRYPT_CODEC_OPUS, FRAMECRYPT_FALLBACK_REJECT, pt,
                                sizeof pt, frame, sizeof frame, NULL, NULL),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_NEXT_CTR(sender, 4);
    CHECK_RC(framecrypt_sender_protect(sender, FRAMECRYPT_CODEC_OPUS, FRAMECRYPT_FALLBACK_REJECT,
                                NULL, 5, frame, sizeof frame, &frame_len, NULL),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_NEXT_CTR(sender, 5);
    CHECK_RC(framecrypt_sender_protect(sender, FRAMECRYPT_CODEC_OPUS, FRAMECRYPT_FALLBACK_REJECT, pt,
                                sizeof pt, NULL, 100, &frame_len, NULL),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_NEXT_CTR(sender, 6);
    CHECK_RC(framecrypt_sender_max_protected_len(sender, FRAMECRYPT_CODEC_VP8, 100, NULL),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_sender_max_protected_len(NULL, FRAMECRYPT_CODEC_VP8, 100, &len),
             FRAMECRYPT_ERR_NULL_POINTER);

    if (CHECK_OK(framecrypt_sender_encrypt(sender, NULL, 0, pt, sizeof pt, frame,
                                           sizeof frame, &frame_len))) {
        if (CHECK_OK(framecrypt_header_parse(frame, frame_len, &header, &header_len))) {
            CHECK_U64(header.ctr, 7);
        }
    }

    CHECK_RC(framecrypt_header_parse(NULL, 5, &header, &header_len),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_header_parse(NULL, 0, &header, &header_len),
             FRAMECRYPT_ERR_MALFORMED_HEADER);
    CHECK_RC(framecrypt_header_parse(frame, frame_len, NULL, &header_len),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_header_parse(frame, frame_len, &header, NULL),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_sfu_inspect(FRAMECRYPT_CODEC_UNKNOWN, frame, frame_len, NULL),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_sfu_inspect(FRAMECRYPT_CODEC_UNKNOWN, NULL, 5, &view),
             FRAMECRYPT_ERR_NULL_POINTER);

    CHECK_RC(framecrypt_receiver_decrypt(receiver, 0, NULL, 0, frame, frame_len, out,
                                         sizeof out, NULL, NULL),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_receiver_decrypt(receiver, 0, NULL, 0, NULL, frame_len, out,
                                         sizeof out, &out_len, NULL),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_receiver_decrypt(receiver, 0, NULL, 4, frame, frame_len, out,
                                         sizeof out, &out_len, NULL),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_receiver_decrypt(receiver, 0, NULL, 0, frame, frame_len, NULL,
                                         sizeof out, &out_len, NULL),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_receiver_unprotect(receiver, 0, FRAMECRYPT_CODEC_UNKNOWN,
                                  FRAMECRYPT_FALLBACK_WHOLE_FRAME, frame, frame_len, out,
                                  sizeof out, NULL, NULL),
             FRAMECRYPT_ERR_NULL_POINTER);
    /* The frame is still good after all that. */
    if (CHECK_OK(framecrypt_receiver_decrypt(receiver, 0, NULL, 0, frame, frame_len, out,
                                             sizeof out, &out_len, NULL))) {
        CHECK_BYTES(out, out_len, pt, sizeof pt);
    }

    /* A length no buffer can have (above PTRDIFF_MAX) is refused before
     * the pointer is used. */
    CHECK_RC(framecrypt_header_parse(frame, SIZE_MAX, &header, &header_len),
             FRAMECRYPT_ERR_LENGTH_TOO_LARGE);
    CHECK_RC(framecrypt_receiver_add_key(receiver, 4, 9, KEY16, SIZE_MAX),
             FRAMECRYPT_ERR_LENGTH_TOO_LARGE);

    /* Freeing NULL does nothing. */
    framecrypt_sender_free(NULL);
    framecrypt_receiver_free(NULL);

    framecrypt_receiver_free(receiver);
    framecrypt_sender_free(sender);
}

/* NULL with length 0 is an empty buffer. */
static void test_empty_buffers(void)
{
    uint8_t frame[BUF_LEN], out[BUF_LEN];
    framecrypt_sender *sender = NULL;
    framecrypt_receiver *receiver = NULL;
    framecrypt_header header = {0, 0};
    size_t frame_len = 0, out_len = 99, expected_len = 0, header_len = 0;
    int s;

    for (s = 1; s <= 8; s++) {
        const framecrypt_suite suite = (framecrypt_suite)s;
        sender = NULL;
        receiver = NULL;
        if (!CHECK_OK(framecrypt_sender_new(suite, 3, KEY16, sizeof KEY16, &sender))) {
            continue;
        }
        if (!CHECK_OK(framecrypt_receiver_new(&receiver))) {
            framecrypt_sender_free(sender);
            continue;
        }
        CHECK_OK(framecrypt_receiver_add_key(receiver, suite, 3, KEY16, sizeof KEY16));
        CHECK_OK(framecrypt_sender_encrypted_len(sender, 0, &expected_len));
        if (CHECK_OK(framecrypt_sender_encrypt(sender, NULL, 0, NULL, 0, frame, sizeof frame,
                                               &frame_len))) {
            CHECK_U64(frame_len, expected_len);
            if (CHECK_OK(framecrypt_header_parse(frame, frame_len, &header, &header_len))) {
                CHECK_U64(frame_len, header_len + SFRAME_VECTORS[suite - 1].tag_len);
            }
            /* Empty metadata authenticates as empty, not as absent: a
             * byte of metadata is a different frame. */
            CHECK_RC(framecrypt_receiver_decrypt(receiver, 0, (const uint8_t *)"x", 1, frame,
                                                 frame_len, out, sizeof out, &out_len, NULL),
                     FRAMECRYPT_ERR_AUTHENTICATION_FAILED);
            out_len = 99;
            if (CHECK_OK(framecrypt_receiver_decrypt(receiver, 0, NULL, 0, frame, frame_len,
                                                     out, sizeof out, &out_len, &header))) {
                CHECK_U64(out_len, 0);
                CHECK_U64(header.kid, 3);
                CHECK_U64(header.ctr, 0);
            }

        }
        /* A non-NULL pointer with length 0 is the same empty buffer. */
        if (CHECK_OK(framecrypt_sender_encrypt(sender, out, 0, out, 0, frame, sizeof frame,
                                               &frame_len))) {
            CHECK_OK(framecrypt_receiver_decrypt(receiver, 0, NULL, 0, frame, frame_len, out,
                                                 sizeof out, &out_len, &header));
            CHECK_U64(out_len, 0);
            CHECK_U64(header.ctr, 1);
        }
        framecrypt_receiver_free(receiver);
        framecrypt_sender_free(sender);
    }
}

static void test_overlap(void)
{
    uint8_t buf[BUF_LEN], frame[BUF_LEN];
    const uint8_t pt[21] = "overlapping buffers!";
    framecrypt_sender *sender = NULL;
    framecrypt_receiver *receiver = NULL;
    framecrypt_header header = {0, 0};
    size_t frame_len = 0, out_len = 0, header_len = 0;

    memset(buf, 0x33, sizeof buf);
    if (!CHECK_OK(framecrypt_sender_new(1, 5, KEY16, sizeof KEY16, &sender)) ||
        !CHECK_OK(framecrypt_receiver_new(&receiver))) {
        framecrypt_sender_free(sender);
        return;
    }
    CHECK_OK(framecrypt_receiver_add_key(receiver, 1, 5, KEY16, sizeof KEY16));

    /* Encrypting in place, or into a buffer that overlaps the plaintext or
     * the metadata, is refused, and uses no counter value. */
    memcpy(buf, pt, sizeof pt);
    CHECK_RC(framecrypt_sender_encrypt(sender, NULL, 0, buf, sizeof pt, buf, sizeof buf,
                                       &frame_len),
             FRAMECRYPT_ERR_BUFFERS_OVERLAP);
    CHECK_NEXT_CTR(sender, 0);
    CHECK_RC(framecrypt_sender_encrypt(sender, NULL, 0, buf + 8, sizeof pt, buf, 100,
                                       &frame_len),
             FRAMECRYPT_ERR_BUFFERS_OVERLAP);
    CHECK_NEXT_CTR(sender, 1);
    /* One shared byte, at either end. */
    CHECK_RC(framecrypt_sender_encrypt(sender, NULL, 0, buf, sizeof pt, buf + sizeof pt - 1,
                                       100, &frame_len),
             FRAMECRYPT_ERR_BUFFERS_OVERLAP);
    CHECK_NEXT_CTR(sender, 2);
    CHECK_RC(framecrypt_sender_encrypt(sender, NULL, 0, buf + 99, sizeof pt, buf, 100,
                                       &frame_len),
             FRAMECRYPT_ERR_BUFFERS_OVERLAP);
    CHECK_NEXT_CTR(sender, 3);
    CHECK_RC(framecrypt_sender_encrypt(sender, buf + 200, 8, pt, sizeof pt, buf + 150, 100,
                                       &frame_len),
             FRAMECRYPT_ERR_BUFFERS_OVERLAP);
    CHECK_NEXT_CTR(sender, 4);
    /* Adjacent buffers share no byte. */
    if (CHECK_OK(framecrypt_sender_encrypt(sender, NULL, 0, buf, sizeof pt, buf + sizeof pt,
                                           100, &frame_len))) {
        memcpy(frame, buf + sizeof pt, frame_len);
        if (CHECK_OK(framecrypt_header_parse(frame, frame_len, &header, &header_len))) {
            CHECK_U64(header.ctr, 5);
        }
    }
    CHECK_OK(framecrypt_sender_encrypt(sender, NULL, 0, buf + 100, sizeof pt, buf, 100,
                                       &frame_len));

    /* Decrypting in place, or overlapping the frame or the metadata. */
    memcpy(buf, frame, frame_len);
    CHECK_RC(framecrypt_receiver_decrypt(receiver, 0, NULL, 0, buf, frame_len, buf,
                                         sizeof buf, &out_len, NULL),
             FRAMECRYPT_ERR_BUFFERS_OVERLAP);
    CHECK_RC(framecrypt_receiver_decrypt(receiver, 0, NULL, 0, buf, frame_len,
                                         buf + frame_len - 1, 100, &out_len, NULL),
             FRAMECRYPT_ERR_BUFFERS_OVERLAP);
    CHECK_RC(framecrypt_receiver_decrypt(receiver, 0, buf + 300, 4, buf, frame_len,
                                         buf + 250, 100, &out_len, NULL),
             FRAMECRYPT_ERR_BUFFERS_OVERLAP);
    CHECK_BYTES(buf, frame_len, frame, frame_len); /* the frame is untouched */
    if (CHECK_OK(framecrypt_receiver_decrypt(receiver, 0, NULL, 0, buf, frame_len,
                                             buf + frame_len, 100, &out_len, NULL))) {
        CHECK_BYTES(buf + frame_len, out_len, pt, sizeof pt);
    }

    /* protect / unprotect. */
    memcpy(buf, pt, sizeof pt);
    CHECK_RC(framecrypt_sender_protect(sender, FRAMECRYPT_CODEC_OPUS, FRAMECRYPT_FALLBACK_REJECT,
                                buf, sizeof pt, buf + 4, 100, &frame_len, NULL),
             FRAMECRYPT_ERR_BUFFERS_OVERLAP);
    if (CHECK_OK(framecrypt_sender_protect(sender, FRAMECRYPT_CODEC_OPUS, FRAMECRYPT_FALLBACK_REJECT,
                                    pt, sizeof pt, buf, sizeof buf, &frame_len, NULL))) {
        CHECK_RC(framecrypt_receiver_unprotect(receiver, 0, FRAMECRYPT_CODEC_OPUS,
                                      FRAMECRYPT_FALLBACK_REJECT, buf, frame_len, buf + 1,
                                      100, &out_len, NULL),
                 FRAMECRYPT_ERR_BUFFERS_OVERLAP);
        if (CHECK_OK(framecrypt_receiver_unprotect(receiver, 0, FRAMECRYPT_CODEC_OPUS,
                                          FRAMECRYPT_FALLBACK_REJECT, buf, frame_len,
                                          buf + frame_len, 100, &out_len, &header))) {
            CHECK_BYTES(buf + frame_len, out_len, pt, sizeof pt);
            /* After five probes and two adjacent encrypts. */
            CHECK_U64(header.ctr, 7);
        }
    }

    framecrypt_receiver_free(receiver);
    framecrypt_sender_free(sender);
}

static void test_wrong_kind(void)
{
    framecrypt_sender *plain_sender = NULL, *ratcheting_sender = NULL;
    framecrypt_receiver *plain_receiver = NULL, *ratcheting_receiver = NULL;
    uint64_t kid = 0;

    if (CHECK_OK(framecrypt_sender_new(4, 77, KEY16, sizeof KEY16, &plain_sender))) {
        CHECK_RC(framecrypt_sender_ratchet(plain_sender), FRAMECRYPT_ERR_WRONG_KIND);
        CHECK_RC(framecrypt_sender_rekey(plain_sender, KEY16_B, sizeof KEY16_B),
                 FRAMECRYPT_ERR_WRONG_KIND);
        /* The sender is unchanged. */
        CHECK_OK(framecrypt_sender_kid(plain_sender, &kid));
        CHECK_U64(kid, 77);
    }
    if (CHECK_OK(framecrypt_sender_new_ratcheting(4, 4, 1, KEY16, sizeof KEY16,
                                                  &ratcheting_sender))) {
        CHECK_OK(framecrypt_sender_ratchet(ratcheting_sender));
        CHECK_OK(framecrypt_sender_kid(ratcheting_sender, &kid));
        CHECK_U64(kid, (1u << 4) | 1u);
    }
    if (CHECK_OK(framecrypt_receiver_new(&plain_receiver))) {
        CHECK_RC(framecrypt_receiver_install_key(plain_receiver, 0, 1, 0, KEY16, sizeof KEY16),
                 FRAMECRYPT_ERR_WRONG_KIND);
    }
    if (CHECK_OK(framecrypt_receiver_new_ratcheting(4, 4, &ratcheting_receiver))) {
        CHECK_RC(framecrypt_receiver_add_key(ratcheting_receiver, 4, 1, KEY16, sizeof KEY16),
                 FRAMECRYPT_ERR_WRONG_KIND);
        CHECK_RC(framecrypt_receiver_remove_key(ratcheting_receiver, 1, NULL),
                 FRAMECRYPT_ERR_WRONG_KIND);
    }

    framecrypt_receiver_free(ratcheting_receiver);
    framecrypt_receiver_free(plain_receiver);
    framecrypt_sender_free(ratcheting_sender);
    framecrypt_sender_free(plain_sender);
}

/* ------------------------------------------------------------------------
 * Ratcheting (RFC 9605 section 5.1)
 * ------------------------------------------------------------------------ */

/* Encrypts `pt` with `sender` into frame/frame_len; 1 on success. */
static int seal(framecrypt_sender *sender, const uint8_t *md, size_t md_len,
                const uint8_t *pt, size_t pt_len, uint8_t *frame, size_t cap,
                size_t *frame_len)
{
    return CHECK_OK(framecrypt_sender_encrypt(sender, md, md_len, pt, pt_len, frame, cap,
                                              frame_len));
}

static void test_ratcheting(void)
{
    static const uint8_t md[4] = {0xde, 0xad, 0xbe, 0xef};
    static const uint8_t pt[32] = "ratcheting frame, 32 bytes long";
    uint8_t frame_a[BUF_LEN], frame_b[BUF_LEN], frame_late[BUF_LEN], frame_c[BUF_LEN];
    uint8_t frame_d[BUF_LEN], out[BUF_LEN];
    size_t len_a = 0, len_b = 0, len_late = 0, len_c = 0, len_d = 0, out_len = 0;
    framecrypt_sender *sender = NULL;
    framecrypt_receiver *receiver = NULL;
    framecrypt_header header = {0, 0};
    uint64_t kid = 0;
    uint32_t rc;

    if (!CHECK_OK(framecrypt_sender_new_ratcheting(FRAMECRYPT_SUITE_AES_128_GCM_SHA256_128, 4,
                                                   1, KEY16, sizeof KEY16, &sender)) ||
        !CHECK_OK(framecrypt_receiver_new_ratcheting(FRAMECRYPT_SUITE_AES_128_GCM_SHA256_128,
                                                     4, &receiver))) {
        framecrypt_sender_free(sender);
        return;
    }
    /* Generation 1, step 0. */
    CHECK_OK(framecrypt_sender_kid(sender, &kid));
    CHECK_U64(kid, 1u << 4);

    /* No key yet. */
    if (seal(sender, md, sizeof md, pt, sizeof pt, frame_a, sizeof frame_a, &len_a)) {
        CHECK_RC(framecrypt_receiver_decrypt(receiver, 0, md, sizeof md, frame_a, len_a, out,
                                             sizeof out, &out_len, NULL),
                 FRAMECRYPT_ERR_UNKNOWN_KEY_ID);
    }
    CHECK_OK(framecrypt_receiver_install_key(receiver, 0, 1, 0, KEY16, sizeof KEY16));
    /* Installing the same generation again is stale. */
    CHECK_RC(framecrypt_receiver_install_key(receiver, 0, 1, 0, KEY16_B, sizeof KEY16_B),
             FRAMECRYPT_ERR_STALE_KEY);
    CHECK_RC(framecrypt_receiver_install_key(receiver, 0, 0, 0, KEY16_B, sizeof KEY16_B),
             FRAMECRYPT_ERR_STALE_KEY);

    if (CHECK_OK(framecrypt_receiver_decrypt(receiver, 10, md, sizeof md, frame_a, len_a, out,
                                             sizeof out, &out_len, &header))) {
        CHECK_BYTES(out, out_len, pt, sizeof pt);
        CHECK_U64(header.kid, 1u << 4);
        CHECK_U64(header.ctr, 0);
    }
    if (seal(sender, md, sizeof md, pt, sizeof pt, frame_b, sizeof frame_b, &len_b) &&
        CHECK_OK(framecrypt_receiver_decrypt(receiver, 20, md, sizeof md, frame_b, len_b, out,
                                             sizeof out, &out_len, &header))) {
        CHECK_BYTES(out, out_len, pt, sizeof pt);
        CHECK_U64(header.ctr, 1);
    }
    /* A frame of step 0 that arrives late, after step 1's first frame. */
    seal(sender, md, sizeof md, pt, sizeof pt, frame_late, sizeof frame_late, &len_late);

    /* Replays are refused, with no plaintext in the output. */
    memset(out, 0, sizeof out);
    CHECK_RC(framecrypt_receiver_decrypt(receiver, 30, md, sizeof md, frame_a, len_a, out,
                                         sizeof out, &out_len, NULL),
             FRAMECRYPT_ERR_REPLAYED);
    CHECK(!holds_plaintext(out, sizeof out, pt, sizeof pt));
    CHECK_RC(framecrypt_receiver_decrypt(receiver, 30, md, sizeof md, frame_b, len_b, out,
                                         sizeof out, &out_len, NULL),
             FRAMECRYPT_ERR_REPLAYED);

    /* A ratchet step: a new KID, which the receiver follows with no new
     * key; the counter starts again at 0. */
    CHECK_OK(framecrypt_sender_ratchet(sender));
    CHECK_OK(framecrypt_sender_kid(sender, &kid));
    CHECK_U64(kid, (1u << 4) | 1u);
    if (seal(sender, md, sizeof md, pt, sizeof pt, frame_c, sizeof frame_c, &len_c)) {
        /* A forged frame of the new step does not move the receiver. */
        frame_c[len_c - 1] ^= 0x01;
        CHECK_RC(framecrypt_receiver_decrypt(receiver, 40, md, sizeof md, frame_c, len_c, out,
                                             sizeof out, &out_len, NULL),
                 FRAMECRYPT_ERR_AUTHENTICATION_FAILED);
        frame_c[len_c - 1] ^= 0x01;
        if (CHECK_OK(framecrypt_receiver_decrypt(receiver, 50, md, sizeof md, frame_c, len_c,
                                                 out, sizeof out, &out_len, &header))) {
            CHECK_BYTES(out, out_len, pt, sizeof pt);
            CHECK_U64(header.kid, (1u << 4) | 1u);
            CHECK_U64(header.ctr, 0);
        }
        CHECK_RC(framecrypt_receiver_decrypt(receiver, 60, md, sizeof md, frame_c, len_c, out,
                                             sizeof out, &out_len, NULL),
                 FRAMECRYPT_ERR_REPLAYED);
    }
    /* The late frame of step 0 is still accepted (the previous key is
     * kept for a while), once. */
    if (CHECK_OK(framecrypt_receiver_decrypt(receiver, 70, md, sizeof md, frame_late,
                                             len_late, out, sizeof out, &out_len, &header))) {
        CHECK_BYTES(out, out_len, pt, sizeof pt);
        CHECK_U64(header.kid, 1u << 4);
        CHECK_U64(header.ctr, 2);
    }
    CHECK_RC(framecrypt_receiver_decrypt(receiver, 80, md, sizeof md, frame_late, len_late,
                                         out, sizeof out, &out_len, NULL),
             FRAMECRYPT_ERR_REPLAYED);

    /* A rekey: generation 2 with a fresh key. The receiver cannot read it
     * until it is given that key. */
    CHECK_OK(framecrypt_sender_rekey(sender, KEY16_B, sizeof KEY16_B));
    CHECK_OK(framecrypt_sender_kid(sender, &kid));
    CHECK_U64(kid, 2u << 4);
    if (seal(sender, md, sizeof md, pt, sizeof pt, frame_d, sizeof frame_d, &len_d)) {
        memset(out, 0, sizeof out);
        rc = framecrypt_receiver_decrypt(receiver, 90, md, sizeof md, frame_d, len_d, out,
                                         sizeof out, &out_len, NULL);
        CHECK_RC(rc, FRAMECRYPT_ERR_UNKNOWN_KEY_ID);
        CHECK(!holds_plaintext(out, sizeof out, pt, sizeof pt));
        /* The wrong key for generation 2 does not open it either. */
        CHECK_OK(framecrypt_receiver_install_key(receiver, 100, 2, 0, KEY16, sizeof KEY16));
        CHECK_RC(framecrypt_receiver_decrypt(receiver, 110, md, sizeof md, frame_d, len_d,
                                             out, sizeof out, &out_len, NULL),
                 FRAMECRYPT_ERR_AUTHENTICATION_FAILED);
        /* Generation 2 is now taken in this receiver (a later install of
         * it is stale), so the handover is shown with a fresh receiver. */
        CHECK_RC(framecrypt_receiver_install_key(receiver, 120, 2, 0, KEY16_B, sizeof KEY16_B),
                 FRAMECRYPT_ERR_STALE_KEY);
    }
    framecrypt_receiver_free(receiver);
    receiver = NULL;

    /* A receiver given generation 1 and then, after the sender's rekey,
     * generation 2's key. */
    if (CHECK_OK(framecrypt_receiver_new_ratcheting(FRAMECRYPT_SUITE_AES_128_GCM_SHA256_128,
                                                    4, &receiver))) {
        CHECK_OK(framecrypt_receiver_install_key(receiver, 0, 1, 0, KEY16, sizeof KEY16));
        CHECK_RC(framecrypt_receiver_decrypt(receiver, 10, md, sizeof md, frame_d, len_d, out,
                                             sizeof out, &out_len, NULL),
                 FRAMECRYPT_ERR_UNKNOWN_KEY_ID);
        CHECK_OK(framecrypt_receiver_install_key(receiver, 20, 2, 0, KEY16_B, sizeof KEY16_B));
        if (CHECK_OK(framecrypt_receiver_decrypt(receiver, 30, md, sizeof md, frame_d, len_d,
                                                 out, sizeof out, &out_len, &header))) {
            CHECK_BYTES(out, out_len, pt, sizeof pt);
            CHECK_U64(header.kid, 2u << 4);
            CHECK_U64(header.ctr, 0);
        }
        /* Generation 1, step 0 was kept as the previous key for late
         * frames... */
        CHECK_OK(framecrypt_receiver_decrypt(receiver, 40, md, sizeof md, frame_a, len_a, out,
                                             sizeof out, &out_len, NULL));
        /* ...for a limited time (5 s): after that it is erased. */
        CHECK_RC(framecrypt_receiver_decrypt(receiver, 20 + 5000 + 1000, md, sizeof md,
                                             frame_b, len_b, out, sizeof out, &out_len, NULL),
                 FRAMECRYPT_ERR_KEY_EXPIRED);
        CHECK_RC(framecrypt_receiver_install_key(receiver, 7000, 2, 0, KEY16_B,
                                                 sizeof KEY16_B),
                 FRAMECRYPT_ERR_STALE_KEY);
    }
    framecrypt_receiver_free(receiver);
    framecrypt_sender_free(sender);
}

/* How far a ratcheting receiver follows: min(2^R - 1, 64) steps. */
static void test_ratchet_distance(void)
{
    static const uint8_t pt[8] = "distance";
    uint8_t frame[BUF_LEN], out[BUF_LEN];
    size_t frame_len = 0, out_len = 0;
    framecrypt_sender *sender = NULL;
    framecrypt_receiver *receiver = NULL;
    framecrypt_header header = {0, 0};
    int i;

    if (!CHECK_OK(framecrypt_sender_new_ratcheting(1, 8, 0, KEY16, sizeof KEY16, &sender)) ||
        !CHECK_OK(framecrypt_receiver_new_ratcheting(1, 8, &receiver))) {
        framecrypt_sender_free(sender);
        return;
    }
    CHECK_OK(framecrypt_receiver_install_key(receiver, 0, 0, 0, KEY16, sizeof KEY16));

    /* 64 steps ahead: followed. */
    for (i = 0; i < 64; i++) {
        CHECK_OK(framecrypt_sender_ratchet(sender));
    }
    if (seal(sender, NULL, 0, pt, sizeof pt, frame, sizeof frame, &frame_len) &&
        CHECK_OK(framecrypt_receiver_decrypt(receiver, 0, NULL, 0, frame, frame_len, out,
                                             sizeof out, &out_len, &header))) {
        CHECK_BYTES(out, out_len, pt, sizeof pt);
        CHECK_U64(header.kid, 64);
    }
    /* 65 steps ahead of that: too far. */
    for (i = 0; i < 65; i++) {
        CHECK_OK(framecrypt_sender_ratchet(sender));
    }
    if (seal(sender, NULL, 0, pt, sizeof pt, frame, sizeof frame, &frame_len)) {
        CHECK_RC(framecrypt_receiver_decrypt(receiver, 0, NULL, 0, frame, frame_len, out,
                                             sizeof out, &out_len, NULL),
                 FRAMECRYPT_ERR_TOO_FAR_AHEAD);
    }

    framecrypt_receiver_free(receiver);
    framecrypt_sender_free(sender);
}

/* ------------------------------------------------------------------------
 * Counter persistence (RFC 9605 section 9.1) and joining (section 5.1)
 * ------------------------------------------------------------------------ */

/* A sender's next counter, persisted and resumed, is never reused; at
 * UINT64_MAX it is the last one. */
static void test_counter_persistence(void)
{
    static const uint8_t pt[9] = "persisted";
    static const uint8_t long_key[129] = {0};
    const framecrypt_suite suite = FRAMECRYPT_SUITE_AES_128_GCM_SHA256_128;
    const uint64_t n = 5;
    uint8_t frame[BUF_LEN], out[BUF_LEN];
    size_t frame_len = 0, out_len = 0, len = 0;
    framecrypt_sender *sender = NULL, *resumed = NULL, *ratcheting = NULL;
    framecrypt_receiver *receiver = NULL;
    framecrypt_header header = {0, 0};
    uint64_t ctr = 0, i, seen = 0;

    if (!CHECK_OK(framecrypt_sender_new(suite, 21, KEY16, sizeof KEY16, &sender)) ||
        !CHECK_OK(framecrypt_receiver_new(&receiver))) {
        framecrypt_sender_free(sender);
        return;
    }
    CHECK_OK(framecrypt_receiver_add_key(receiver, suite, 21, KEY16, sizeof KEY16));

    /* After N frames (and refused calls, which use none), the next
     * counter is N. */
    CHECK_OK(framecrypt_sender_next_counter(sender, &ctr));
    CHECK_U64(ctr, 0);
    for (i = 0; i < n; i++) {
        CHECK_RC(framecrypt_sender_encrypt(sender, NULL, 0, pt, sizeof pt, frame, 1,
                                           &frame_len),
                 FRAMECRYPT_ERR_BUFFER_TOO_SMALL);
        if (seal(sender, NULL, 0, pt, sizeof pt, frame, sizeof frame, &frame_len) &&
            CHECK_OK(framecrypt_receiver_decrypt(receiver, 0, NULL, 0, frame, frame_len,
                                                 out, sizeof out, &out_len, &header))) {
            CHECK_U64(header.ctr, i);
            seen |= UINT64_C(1) << header.ctr;
        }
    }
    ctr = 0;
    CHECK_OK(framecrypt_sender_next_counter(sender, &ctr));
    CHECK_U64(ctr, n);
    /* Reading it uses no counter value. */
    CHECK_OK(framecrypt_sender_next_counter(sender, &ctr));
    CHECK_U64(ctr, n);

    /* A restart: the old sender is gone, a new one resumes at the
     * persisted value and continues where the old one stopped. */
    framecrypt_sender_free(sender);
    sender = NULL;
    if (CHECK_OK(framecrypt_sender_resume(suite, 21, KEY16, sizeof KEY16, ctr, &resumed))) {
        for (i = 0; i < 2; i++) {
            if (seal(resumed, NULL, 0, pt, sizeof pt, frame, sizeof frame, &frame_len) &&
                CHECK_OK(framecrypt_receiver_decrypt(receiver, 0, NULL, 0, frame, frame_len,
                                                     out, sizeof out, &out_len, &header))) {
                CHECK_BYTES(out, out_len, pt, sizeof pt);
                CHECK_U64(header.kid, 21);
                CHECK_U64(header.ctr, n + i);
                /* No counter value seen before. */
                CHECK(header.ctr < 64 && (seen & (UINT64_C(1) << header.ctr)) == 0);
                seen |= UINT64_C(1) << (header.ctr & 63);
            }
        }
        CHECK_OK(framecrypt_sender_next_counter(resumed, &ctr));
        CHECK_U64(ctr, n + 2);
        framecrypt_sender_free(resumed);
        resumed = NULL;
    }
    CHECK_U64(seen, (UINT64_C(1) << (n + 2)) - 1);

    /* Resumed at the last counter value: one frame, then exhausted. */
    if (CHECK_OK(framecrypt_sender_resume(suite, 21, KEY16, sizeof KEY16, UINT64_MAX,
                                          &resumed))) {
        ctr = 0;
        CHECK_OK(framecrypt_sender_next_counter(resumed, &ctr));
        CHECK_U64(ctr, UINT64_MAX);
        CHECK_OK(framecrypt_sender_encrypted_len(resumed, sizeof pt, &len));
        if (seal(resumed, NULL, 0, pt, sizeof pt, frame, sizeof frame, &frame_len)) {
            CHECK_U64(frame_len, len);
            if (CHECK_OK(framecrypt_receiver_decrypt(receiver, 0, NULL, 0, frame, frame_len,
                                                     out, sizeof out, &out_len, &header))) {
                CHECK_BYTES(out, out_len, pt, sizeof pt);
                CHECK_U64(header.ctr, UINT64_MAX);
            }
        }
        ctr = 42;
        CHECK_RC(framecrypt_sender_next_counter(resumed, &ctr),
                 FRAMECRYPT_ERR_COUNTER_EXHAUSTED);
        CHECK_U64(ctr, 42); /* not written */
        memset(frame, 0, sizeof frame);
        CHECK_RC(framecrypt_sender_encrypt(resumed, NULL, 0, pt, sizeof pt, frame,
                                           sizeof frame, &frame_len),
                 FRAMECRYPT_ERR_COUNTER_EXHAUSTED);
        CHECK(!holds_plaintext(frame, sizeof frame, pt, sizeof pt));
        /* And it stays so. */
        CHECK_RC(framecrypt_sender_encrypt(resumed, NULL, 0, pt, sizeof pt, frame,
                                           sizeof frame, &frame_len),
                 FRAMECRYPT_ERR_COUNTER_EXHAUSTED);
        CHECK_RC(framecrypt_sender_next_counter(resumed, &ctr),
                 FRAMECRYPT_ERR_COUNTER_EXHAUSTED);
        framecrypt_sender_free(resumed);
        resumed = NULL;
    }

    /* A ratcheting sender's counter too; a ratchet step restarts it. */
    if (CHECK_OK(framecrypt_sender_new_ratcheting(suite, 4, 1, KEY16, sizeof KEY16,
                                                  &ratcheting))) {
        seal(ratcheting, NULL, 0, pt, sizeof pt, frame, sizeof frame, &frame_len);
        seal(ratcheting, NULL, 0, pt, sizeof pt, frame, sizeof frame, &frame_len);
        CHECK_OK(framecrypt_sender_next_counter(ratcheting, &ctr));
        CHECK_U64(ctr, 2);
        CHECK_OK(framecrypt_sender_ratchet(ratcheting));
        CHECK_OK(framecrypt_sender_next_counter(ratcheting, &ctr));
        CHECK_U64(ctr, 0);
        framecrypt_sender_free(ratcheting);
    }

    /* Arguments. */
    if (CHECK_OK(framecrypt_sender_new(suite, 21, KEY16, sizeof KEY16, &sender))) {
        CHECK_RC(framecrypt_sender_next_counter(sender, NULL), FRAMECRYPT_ERR_NULL_POINTER);
        CHECK_NEXT_CTR(sender, 0);
        framecrypt_sender_free(sender);
        sender = NULL;
    }
    ctr = 42;
    CHECK_RC(framecrypt_sender_next_counter(NULL, &ctr), FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_sender_next_counter(NULL, NULL), FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_U64(ctr, 42);
    CHECK_RC(framecrypt_sender_resume(suite, 21, KEY16, sizeof KEY16, 7, NULL),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_sender_resume(suite, 21, NULL, 16, 7, &resumed),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_sender_resume(9, 21, KEY16, sizeof KEY16, 7, &resumed),
             FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE);
    CHECK_RC(framecrypt_sender_resume(suite, 21, KEY16, 0, 7, &resumed),
             FRAMECRYPT_ERR_INVALID_KEY_LENGTH);
    CHECK_RC(framecrypt_sender_resume(suite, 21, long_key, sizeof long_key, 7, &resumed),
             FRAMECRYPT_ERR_INVALID_KEY_LENGTH);
    CHECK(resumed == NULL);

    framecrypt_receiver_free(receiver);
}

/* Whether all `len` bytes at `buf` are `value`. */
static int all_bytes(const uint8_t *buf, size_t len, uint8_t value)
{
    size_t i;
    for (i = 0; i < len; i++) {
        if (buf[i] != value) {
            return 0;
        }
    }
    return 1;
}

/*
 * A participant joins a ratcheting sender's session: the sender ratchets,
 * hands over its current key with framecrypt_sender_current_key, and a new
 * ratcheting receiver installs it and reads the sender's next frames, but
 * not the frames from before it joined. `key_len` is the suite's hash
 * length Nh, the length of a ratcheted base key.
 */
static void test_joiner(framecrypt_suite suite, size_t key_len)
{
    static const uint8_t md[3] = {0x6a, 0x6f, 0x69};
    static const uint8_t pt[24] = "a frame for the joiner.";
    const uint32_t bits = 8;
    const uint64_t generation = 3;
    uint8_t key[128], early[BUF_LEN], frame[BUF_LEN], out[BUF_LEN];
    size_t len = 0, early_len = 0, frame_len = 0, out_len = 0;
    uint64_t gen = 0, step = 0, kid = 0;
    framecrypt_sender *sender = NULL, *plain = NULL;
    framecrypt_receiver *joiner = NULL, *member = NULL;
    framecrypt_header header = {0, 0};

    if (!CHECK_OK(framecrypt_sender_new_ratcheting(suite, bits, generation, KEY16,
                                                   sizeof KEY16, &sender))) {
        return;
    }

    /* At step 0 the current key is the one the sender was given. */
    memset(key, 0xa5, sizeof key);
    if (CHECK_OK(framecrypt_sender_current_key(sender, key, sizeof key, &len, &gen, &step))) {
        CHECK_BYTES(key, len, KEY16, sizeof KEY16);
        CHECK_U64(gen, generation);
        CHECK_U64(step, 0);
        CHECK(all_bytes(key + len, sizeof key - len, 0xa5)); /* nothing past len */
    }
    /* A member from the start. */
    if (CHECK_OK(framecrypt_receiver_new_ratcheting(suite, bits, &member))) {
        CHECK_OK(framecrypt_receiver_install_key(member, 0, gen, step, key, len));
    }
    memset(key, 0, sizeof key);

    /* A frame before the join, then two ratchet steps (someone joins). */
    seal(sender, md, sizeof md, pt, sizeof pt, early, sizeof early, &early_len);
    CHECK_OK(framecrypt_sender_ratchet(sender));
    CHECK_OK(framecrypt_sender_ratchet(sender));

    /* Out too small: refused with the key's length, nothing else written. */
    memset(key, 0xa5, sizeof key);
    len = 999;
    gen = 999;
    step = 999;
    CHECK_RC(framecrypt_sender_current_key(sender, key, key_len - 1, &len, &gen, &step),
             FRAMECRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK_U64(len, key_len);
    CHECK_U64(gen, 999);
    CHECK_U64(step, 999);
    CHECK(all_bytes(key, sizeof key, 0xa5));
    len = 999;
    CHECK_RC(framecrypt_sender_current_key(sender, NULL, 0, &len, &gen, &step),
             FRAMECRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK_U64(len, key_len);
    len = 999;
    /* NULL out-pointers, and NULL out with a capacity. */
    CHECK_RC(framecrypt_sender_current_key(sender, NULL, sizeof key, &len, &gen, &step),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_sender_current_key(sender, key, sizeof key, NULL, &gen, &step),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_sender_current_key(sender, key, sizeof key, &len, NULL, &step),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_sender_current_key(sender, key, sizeof key, &len, &gen, NULL),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_RC(framecrypt_sender_current_key(NULL, key, sizeof key, &len, &gen, &step),
             FRAMECRYPT_ERR_NULL_POINTER);
    CHECK_U64(len, 999);
    CHECK(all_bytes(key, sizeof key, 0xa5));
    /* None of that used a counter value or moved the sender. */
    CHECK_OK(framecrypt_sender_kid(sender, &kid));
    CHECK_U64(kid, (generation << bits) | 2u);

    /* The key for the joiner: generation 3, step 2, Nh bytes; exactly
     * Nh bytes of room are enough. */
    if (!CHECK_OK(framecrypt_sender_current_key(sender, key, key_len, &len, &gen, &step))) {
        goto done;
    }
    CHECK_U64(len, key_len);
    CHECK_U64(gen, generation);
    CHECK_U64(step, 2);
    CHECK(all_bytes(key + key_len, sizeof key - key_len, 0xa5));
    CHECK(!all_bytes(key, key_len, 0xa5));

    if (CHECK_OK(framecrypt_receiver_new_ratcheting(suite, bits, &joiner))) {
        CHECK_OK(framecrypt_receiver_install_key(joiner, 0, gen, step, key, len));
        /* The same key, or an earlier step, again: stale. */
        CHECK_RC(framecrypt_receiver_install_key(joiner, 0, gen, step, key, len),
                 FRAMECRYPT_ERR_STALE_KEY);
        CHECK_RC(framecrypt_receiver_install_key(joiner, 0, gen, step - 1, key, len),
                 FRAMECRYPT_ERR_STALE_KEY);
    }
    /* A real client wipes its copy of the key once it is handed over. */
    memset(key, 0, sizeof key);
    CHECK(all_bytes(key, sizeof key, 0));
    if (joiner == NULL) {
        goto done;
    }

    /* The sender's next frame: KID (3 << 8) | 2, CTR 0. */
    if (seal(sender, md, sizeof md, pt, sizeof pt, frame, sizeof frame, &frame_len)) {
        if (CHECK_OK(framecrypt_receiver_decrypt(joiner, 10, md, sizeof md, frame, frame_len,
                                                 out, sizeof out, &out_len, &header))) {
            CHECK_BYTES(out, out_len, pt, sizeof pt);
            CHECK_U64(header.kid, (generation << bits) | 2u);
            CHECK_U64(header.ctr, 0);
        }
        CHECK_RC(framecrypt_receiver_decrypt(joiner, 20, md, sizeof md, frame, frame_len,
                                             out, sizeof out, &out_len, NULL),
                 FRAMECRYPT_ERR_REPLAYED);
        /* The member who was there from the start follows by itself. */
        if (member != NULL &&
            CHECK_OK(framecrypt_receiver_decrypt(member, 10, md, sizeof md, frame, frame_len,
                                                 out, sizeof out, &out_len, &header))) {
            CHECK_BYTES(out, out_len, pt, sizeof pt);
            CHECK_U64(header.kid, (generation << bits) | 2u);
        }
    }
    /* A frame from before the join is not the joiner's to read. */
    memset(out, 0, sizeof out);
    CHECK_RC(framecrypt_receiver_decrypt(joiner, 30, md, sizeof md, early, early_len, out,
                                         sizeof out, &out_len, NULL),
             FRAMECRYPT_ERR_KEY_EXPIRED);
    CHECK(!holds_plaintext(out, sizeof out, pt, sizeof pt));
    /* The joiner follows later ratchet steps by itself. */
    CHECK_OK(framecrypt_sender_ratchet(sender));
    if (seal(sender, md, sizeof md, pt, sizeof pt, frame, sizeof frame, &frame_len) &&
        CHECK_OK(framecrypt_receiver_decrypt(joiner, 40, md, sizeof md, frame, frame_len, out,
                                             sizeof out, &out_len, &header))) {
        CHECK_BYTES(out, out_len, pt, sizeof pt);
        CHECK_U64(header.kid, (generation << bits) | 3u);
    }

    /* Persist the sender (key, generation, step, next counter), restart it
     * from that, and the joiner reads on with no counter reused. */
    {
        uint64_t next = 0;
        framecrypt_sender *restarted = NULL;
        memset(key, 0xa5, sizeof key);
        if (CHECK_OK(framecrypt_sender_current_key(sender, key, sizeof key, &len, &gen, &step)) &&
            CHECK_OK(framecrypt_sender_next_counter(sender, &next)) &&
            CHECK_OK(framecrypt_sender_resume_ratcheting(suite, bits, gen, step, key, len, next,
                                                         &restarted))) {
            CHECK_U64(next, 1);
            CHECK_NEXT_CTR(restarted, next); /* encrypts a probe frame at `next` */
            if (seal(restarted, md, sizeof md, pt, sizeof pt, frame, sizeof frame, &frame_len) &&
                CHECK_OK(framecrypt_receiver_decrypt(joiner, 50, md, sizeof md, frame, frame_len,
                                                     out, sizeof out, &out_len, &header))) {
                CHECK_BYTES(out, out_len, pt, sizeof pt);
                CHECK_U64(header.kid, (generation << bits) | 3u);
                CHECK_U64(header.ctr, next + 1);
            }
        }
        memset(key, 0, sizeof key);
        CHECK_RC(framecrypt_sender_resume_ratcheting(suite, 0, gen, step, KEY16, sizeof KEY16, 0,
                                                     &restarted),
                 FRAMECRYPT_ERR_INVALID_PARAMETER);
        CHECK_RC(framecrypt_sender_resume_ratcheting(suite, bits, gen, step, KEY16, sizeof KEY16, 0,
                                                     NULL),
                 FRAMECRYPT_ERR_NULL_POINTER);
        framecrypt_sender_free(restarted);
    }

    /* After a rekey the current key is the fresh one, at step 0. */
    CHECK_OK(framecrypt_sender_rekey(sender, KEY16_B, sizeof KEY16_B));
    memset(key, 0xa5, sizeof key);
    if (CHECK_OK(framecrypt_sender_current_key(sender, key, sizeof key, &len, &gen, &step))) {
        CHECK_BYTES(key, len, KEY16_B, sizeof KEY16_B);
        CHECK_U64(gen, generation + 1);
        CHECK_U64(step, 0);
    }
    memset(key, 0, sizeof key);

done:
    /* A plain sender has no ratchet key to hand over. */
    if (CHECK_OK(framecrypt_sender_new(suite, 5, KEY16, sizeof KEY16, &plain))) {
        memset(key, 0xa5, sizeof key);
        len = 999;
        CHECK_RC(framecrypt_sender_current_key(plain, key, sizeof key, &len, &gen, &step),
                 FRAMECRYPT_ERR_WRONG_KIND);
        CHECK_U64(len, 999);
        CHECK(all_bytes(key, sizeof key, 0xa5));
        framecrypt_sender_free(plain);
    }
    framecrypt_receiver_free(member);
    framecrypt_receiver_free(joiner);
    framecrypt_sender_free(sender);
}

/* ------------------------------------------------------------------------
 * Codec-aware protection and the SFU view
 * ------------------------------------------------------------------------ */

static void test_vp8(void)
{
    /* A VP8 keyframe (RFC 6386 section 9.1): 3-byte frame tag (bit 0 = 0:
     * keyframe; show_frame set; first partition size 16), start code
     * 9d 01 2a, width 640 and height 480 little-endian, then payload. */
    static const uint8_t keyframe[] = {
        0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01,
        0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa,
        0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04,
    };
    /* An interframe: bit 0 of the tag set; only the tag is clear. */
    static const uint8_t interframe[] = {0x31, 0x02, 0x00, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e,
                                         0x5f, 0x60, 0x61, 0x62};
    uint8_t protected_frame[BUF_LEN], out[BUF_LEN], bad[BUF_LEN];
    size_t cap = 0, exact = 0, protected_len = 0, out_len = 0;
    bool whole = true;
    framecrypt_sender *sender = NULL;
    framecrypt_receiver *receiver = NULL;
    framecrypt_header header = {0, 0};
    framecrypt_sfu_view view = {.struct_size = sizeof(framecrypt_sfu_view)};
    const framecrypt_suite suite = FRAMECRYPT_SUITE_AES_128_GCM_SHA256_128;

    if (!CHECK_OK(framecrypt_sender_new(suite, 0x1234, KEY16, sizeof KEY16, &sender)) ||
        !CHECK_OK(framecrypt_receiver_new(&receiver))) {
        framecrypt_sender_free(sender);
        return;
    }
    CHECK_OK(framecrypt_receiver_add_key(receiver, suite, 0x1234, KEY16, sizeof KEY16));

    if (!CHECK_OK(framecrypt_sender_max_protected_len(sender, FRAMECRYPT_CODEC_VP8, sizeof keyframe,
                                               &cap)) ||
        !CHECK(cap >= sizeof keyframe && cap <= sizeof protected_frame)) {
        goto done;
    }

    /* The result has the length of a plain frame of the same size, well
     * below the maximum. One byte less is refused with the length needed,
     * and uses no counter value; the exact length is accepted. */
    if (!CHECK_OK(framecrypt_sender_encrypted_len(sender, sizeof keyframe, &exact)) ||
        !CHECK(exact < cap)) {
        goto done;
    }
    protected_len = 0;
    memset(protected_frame, 0, sizeof protected_frame);
    CHECK_RC(framecrypt_sender_protect(sender, FRAMECRYPT_CODEC_VP8, FRAMECRYPT_FALLBACK_REJECT,
                                       keyframe, sizeof keyframe, protected_frame, exact - 1,
                                       &protected_len, &whole),
             FRAMECRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK_U64(protected_len, exact);
    CHECK(all_bytes(protected_frame, sizeof protected_frame, 0));

    if (!CHECK_OK(framecrypt_sender_protect(sender, FRAMECRYPT_CODEC_VP8, FRAMECRYPT_FALLBACK_REJECT,
                                            keyframe, sizeof keyframe, protected_frame, exact,
                                            &protected_len, &whole))) {
        goto done;
    }
    CHECK(!whole);
    CHECK_U64(protected_len, exact);
    /* The payload header is clear; the rest is not. */
    CHECK_BYTES(protected_frame, 10, keyframe, 10);
    CHECK(!holds_plaintext(protected_frame + 10, protected_len - 10, keyframe + 10,
                           sizeof keyframe - 10));

    /* What an SFU sees, with no key. */
    memset(&view, 0xff, sizeof view);
    view.struct_size = sizeof view;
    if (CHECK_OK(framecrypt_sfu_inspect(FRAMECRYPT_CODEC_VP8, protected_frame, protected_len,
                                        &view))) {
        CHECK_U64(view.keyframe, 1);
        CHECK_U64(view.width, 640);
        CHECK_U64(view.height, 480);
        CHECK_U64(view.clear_len, 10);
        CHECK_U64(view.header_offset, 10);
        CHECK_U64(view.header.kid, 0x1234);
        CHECK_U64(view.header.ctr, 0);
        CHECK_U64(view.escape_len, 0);
        CHECK_U64(view.header_offset + view.header_len + view.sealed_len, protected_len);
        CHECK(view.opus_toc == -1);
        CHECK(view.temporal_id == -1);
        CHECK(view.spatial_id == -1);
        CHECK(!view.parameter_sets);
        CHECK(!view.sequence_header);
    }
    /* Truncated inside the clear bytes or the SFrame header. */
    CHECK_RC(framecrypt_sfu_inspect(FRAMECRYPT_CODEC_VP8, protected_frame, 5, &view),
             FRAMECRYPT_ERR_MALFORMED_FRAME);
    CHECK_RC(framecrypt_sfu_inspect(FRAMECRYPT_CODEC_VP8, protected_frame, 10, &view),
             FRAMECRYPT_ERR_MALFORMED_HEADER);
    CHECK_RC(framecrypt_sfu_inspect(99, protected_frame, protected_len, &view),
             FRAMECRYPT_ERR_INVALID_PARAMETER);

    /* The output must hold protected_len bytes: one fewer is refused. */
    CHECK_RC(framecrypt_receiver_unprotect(receiver, 0, FRAMECRYPT_CODEC_VP8,
                                  FRAMECRYPT_FALLBACK_REJECT, protected_frame, protected_len,
                                  out, protected_len - 1, &out_len, NULL),
             FRAMECRYPT_ERR_BUFFER_TOO_SMALL);

    /* The clear bytes are authenticated: a changed width is refused. */
    memcpy(bad, protected_frame, protected_len);
    bad[6] ^= 0x01;
    memset(out, 0, sizeof out);
    CHECK_RC(framecrypt_receiver_unprotect(receiver, 0, FRAMECRYPT_CODEC_VP8,
                                  FRAMECRYPT_FALLBACK_REJECT, bad, protected_len, out,
                                  sizeof out, &out_len, NULL),
             FRAMECRYPT_ERR_AUTHENTICATION_FAILED);
    CHECK(!holds_plaintext(out, sizeof out, keyframe + 10, sizeof keyframe - 10));
    /* And so is the encrypted part. */
    memcpy(bad, protected_frame, protected_len);
    bad[protected_len - 1] ^= 0x01;
    CHECK_RC(framecrypt_receiver_unprotect(receiver, 0, FRAMECRYPT_CODEC_VP8,
                                  FRAMECRYPT_FALLBACK_REJECT, bad, protected_len, out,
                                  sizeof out, &out_len, NULL),
             FRAMECRYPT_ERR_AUTHENTICATION_FAILED);

    /* None of that moved the replay window: the receiver gets the exact
     * frame back into exactly protected_len bytes, once. */
    memset(out, 0, sizeof out);
    if (CHECK_OK(framecrypt_receiver_unprotect(receiver, 0, FRAMECRYPT_CODEC_VP8,
                                      FRAMECRYPT_FALLBACK_REJECT, protected_frame,
                                      protected_len, out, protected_len, &out_len, &header))) {
        CHECK_BYTES(out, out_len, keyframe, sizeof keyframe);
        CHECK_U64(header.kid, 0x1234);
        CHECK_U64(header.ctr, 0);
    }
    CHECK_RC(framecrypt_receiver_unprotect(receiver, 0, FRAMECRYPT_CODEC_VP8,
                                  FRAMECRYPT_FALLBACK_REJECT, protected_frame, protected_len,
                                  out, sizeof out, &out_len, NULL),
             FRAMECRYPT_ERR_REPLAYED);

    /* An interframe: 3 clear bytes, not a keyframe, no dimensions. */
    CHECK_OK(framecrypt_sender_max_protected_len(sender, FRAMECRYPT_CODEC_VP8, sizeof interframe,
                                          &cap));
    if (CHECK_OK(framecrypt_sender_protect(sender, FRAMECRYPT_CODEC_VP8, FRAMECRYPT_FALLBACK_REJECT,
                                    interframe, sizeof interframe, protected_frame, cap,
                                    &protected_len, NULL))) {
        CHECK_BYTES(protected_frame, 3, interframe, 3);
        if (CHECK_OK(framecrypt_sfu_inspect(FRAMECRYPT_CODEC_VP8, protected_frame,
                                            protected_len, &view))) {
            CHECK_U64(view.keyframe, 0);
            CHECK_U64(view.width, 0);
            CHECK_U64(view.height, 0);
            CHECK_U64(view.clear_len, 3);
            /* The failed call above used no counter value. */
            CHECK_U64(view.header.ctr, 1);
        }
        if (CHECK_OK(framecrypt_receiver_unprotect(receiver, 0, FRAMECRYPT_CODEC_VP8,
                                          FRAMECRYPT_FALLBACK_REJECT, protected_frame,
                                          protected_len, out, sizeof out, &out_len, NULL))) {
            CHECK_BYTES(out, out_len, interframe, sizeof interframe);
        }
    }

done:
    framecrypt_receiver_free(receiver);
    framecrypt_sender_free(sender);
}

static void test_opus(void)
{
    static const uint8_t opus[] = {0x78, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                   0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
    uint8_t protected_frame[BUF_LEN], out[BUF_LEN];
    size_t cap = 0, protected_len = 0, out_len = 0;
    framecrypt_sender *sender = NULL;
    framecrypt_receiver *receiver = NULL;
    framecrypt_sfu_view view = {.struct_size = sizeof(framecrypt_sfu_view)};
    const framecrypt_suite suite = FRAMECRYPT_SUITE_AES_128_CTR_HMAC_SHA256_80;

    if (!CHECK_OK(framecrypt_sender_new(suite, 42, KEY16, sizeof KEY16, &sender)) ||
        !CHECK_OK(framecrypt_receiver_new(&receiver))) {
        framecrypt_sender_free(sender);
        return;
    }
    CHECK_OK(framecrypt_receiver_add_key(receiver, suite, 42, KEY16, sizeof KEY16));

    /* TOC byte clear. */
    CHECK_OK(framecrypt_sender_max_protected_len(sender, FRAMECRYPT_CODEC_OPUS, sizeof opus, &cap));
    CHECK(cap <= sizeof protected_frame);
    if (CHECK_OK(framecrypt_sender_protect(sender, FRAMECRYPT_CODEC_OPUS, FRAMECRYPT_FALLBACK_REJECT,
                                    opus, sizeof opus, protected_frame, cap, &protected_len,
                                    NULL))) {
        CHECK_U64(protected_frame[0], opus[0]);
        if (CHECK_OK(framecrypt_sfu_inspect(FRAMECRYPT_CODEC_OPUS, protected_frame,
                                            protected_len, &view))) {
            CHECK(view.opus_toc == opus[0]);
            CHECK_U64(view.clear_len, 1);
            CHECK_U64(view.header_offset, 1);
            CHECK_U64(view.header.kid, 42);
            CHECK_U64(view.header.ctr, 0);
            CHECK(view.keyframe == -1);
            CHECK_U64(view.width, 0);
            CHECK_U64(view.height, 0);
        }
        if (CHECK_OK(framecrypt_receiver_unprotect(receiver, 0, FRAMECRYPT_CODEC_OPUS,
                                          FRAMECRYPT_FALLBACK_REJECT, protected_frame,
                                          protected_len, out, sizeof out, &out_len, NULL))) {
            CHECK_BYTES(out, out_len, opus, sizeof opus);
        }
        /* Read as opaque Opus, the frame does not authenticate. */
        CHECK(framecrypt_receiver_unprotect(receiver, 0, FRAMECRYPT_CODEC_OPUS_OPAQUE,
                                   FRAMECRYPT_FALLBACK_REJECT, protected_frame, protected_len,
                                   out, sizeof out, &out_len, NULL) != FRAMECRYPT_OK);
    }

    /* Opaque Opus: nothing clear; the SFrame header comes first. */
    CHECK_OK(framecrypt_sender_max_protected_len(sender, FRAMECRYPT_CODEC_OPUS_OPAQUE, sizeof opus,
                                          &cap));
    if (CHECK_OK(framecrypt_sender_protect(sender, FRAMECRYPT_CODEC_OPUS_OPAQUE,
                                    FRAMECRYPT_FALLBACK_REJECT, opus, sizeof opus,
                                    protected_frame, cap, &protected_len, NULL))) {
        framecrypt_header header = {0, 0};
        size_t header_len = 0;
        if (CHECK_OK(framecrypt_header_parse(protected_frame, protected_len, &header,
                                             &header_len))) {
            CHECK_U64(header.kid, 42);
            CHECK_U64(header.ctr, 1);
        }
        if (CHECK_OK(framecrypt_sfu_inspect(FRAMECRYPT_CODEC_OPUS_OPAQUE, protected_frame,
                                            protected_len, &view))) {
            CHECK(view.opus_toc == -1);
            CHECK_U64(view.clear_len, 0);
        }
        if (CHECK_OK(framecrypt_receiver_unprotect(receiver, 0, FRAMECRYPT_CODEC_OPUS_OPAQUE,
                                          FRAMECRYPT_FALLBACK_REJECT, protected_frame,
                                          protected_len, out, sizeof out, &out_len, NULL))) {
            CHECK_BYTES(out, out_len, opus, sizeof opus);
        }
    }

    framecrypt_receiver_free(receiver);
    framecrypt_sender_free(sender);
}

static void test_fallback_and_parameters(void)
{
    static const uint8_t not_vp8[2] = {0x00, 0x00}; /* a keyframe tag needs 10 bytes */
    uint8_t protected_frame[BUF_LEN], out[BUF_LEN];
    size_t cap = 0, protected_len = 0, out_len = 0;
    bool whole = false;
    framecrypt_sender *sender = NULL;
    framecrypt_receiver *receiver = NULL;
    framecrypt_header header = {0, 0};
    framecrypt_sfu_view view = {.struct_size = sizeof(framecrypt_sfu_view)};
    const framecrypt_suite suite = FRAMECRYPT_SUITE_AES_256_GCM_SHA512_128;

    if (!CHECK_OK(framecrypt_sender_new(suite, 5, KEY16, sizeof KEY16, &sender)) ||
        !CHECK_OK(framecrypt_receiver_new(&receiver))) {
        framecrypt_sender_free(sender);
        return;
    }
    CHECK_OK(framecrypt_receiver_add_key(receiver, suite, 5, KEY16, sizeof KEY16));
    CHECK_OK(framecrypt_sender_max_protected_len(sender, FRAMECRYPT_CODEC_VP8, sizeof not_vp8, &cap));
    CHECK(cap <= sizeof protected_frame);

    /* Rejected... */
    CHECK_RC(framecrypt_sender_protect(sender, FRAMECRYPT_CODEC_VP8, FRAMECRYPT_FALLBACK_REJECT,
                                not_vp8, sizeof not_vp8, protected_frame, cap, &protected_len,
                                &whole),
             FRAMECRYPT_ERR_MALFORMED_FRAME);
    CHECK_RC(framecrypt_sender_protect(sender, FRAMECRYPT_CODEC_VP8, FRAMECRYPT_FALLBACK_REJECT,
                                NULL, 0, protected_frame, cap, &protected_len, &whole),
             FRAMECRYPT_ERR_MALFORMED_FRAME);
    /* ...or protected whole. */
    whole = false;
    if (CHECK_OK(framecrypt_sender_protect(sender, FRAMECRYPT_CODEC_VP8,
                                    FRAMECRYPT_FALLBACK_WHOLE_FRAME, not_vp8, sizeof not_vp8,
                                    protected_frame, cap, &protected_len, &whole))) {
        CHECK(whole);
        if (CHECK_OK(framecrypt_receiver_unprotect(receiver, 0, FRAMECRYPT_CODEC_VP8,
                                          FRAMECRYPT_FALLBACK_WHOLE_FRAME, protected_frame,
                                          protected_len, out, sizeof out, &out_len,
                                          &header))) {
            CHECK_BYTES(out, out_len, not_vp8, sizeof not_vp8);
            CHECK_U64(header.kid, 5);
        }
        /* A whole frame is a plain SFrame frame: the header comes first. */
        if (CHECK_OK(framecrypt_sfu_inspect(FRAMECRYPT_CODEC_UNKNOWN, protected_frame,
                                            protected_len, &view))) {
            CHECK_U64(view.header.kid, 5);
            CHECK_U64(view.header_offset, 0);
            CHECK_U64(view.clear_len, 0);
        }
    }

    /* No codec rule: whole frame, or refused. */
    CHECK_OK(framecrypt_sender_max_protected_len(sender, FRAMECRYPT_CODEC_UNKNOWN, sizeof not_vp8,
                                          &cap));
    CHECK_RC(framecrypt_sender_protect(sender, FRAMECRYPT_CODEC_UNKNOWN, FRAMECRYPT_FALLBACK_REJECT,
                                not_vp8, sizeof not_vp8, protected_frame, cap, &protected_len,
                                NULL),
             FRAMECRYPT_ERR_UNSUPPORTED_CODEC);
    whole = false;
    if (CHECK_OK(framecrypt_sender_protect(sender, FRAMECRYPT_CODEC_UNKNOWN,
                                    FRAMECRYPT_FALLBACK_WHOLE_FRAME, not_vp8, sizeof not_vp8,
                                    protected_frame, cap, &protected_len, &whole))) {
        CHECK(whole);
        /* It is a plain SFrame frame with empty metadata... */
        if (CHECK_OK(framecrypt_receiver_decrypt(receiver, 0, NULL, 0, protected_frame,
                                                 protected_len, out, sizeof out, &out_len,
                                                 NULL))) {
            CHECK_BYTES(out, out_len, not_vp8, sizeof not_vp8);
        }
        /* ...under the same replay window as the codec-aware door. */
        CHECK_RC(framecrypt_receiver_unprotect(receiver, 0, FRAMECRYPT_CODEC_UNKNOWN,
                                      FRAMECRYPT_FALLBACK_WHOLE_FRAME, protected_frame,
                                      protected_len, out, sizeof out, &out_len, NULL),
                 FRAMECRYPT_ERR_REPLAYED);
    }

    /* Values that are no codec or fallback. */
    CHECK_RC(framecrypt_sender_max_protected_len(sender, (framecrypt_codec)99, 10, &cap),
             FRAMECRYPT_ERR_INVALID_PARAMETER);
    CHECK_RC(framecrypt_sender_protect(sender, (framecrypt_codec)0, FRAMECRYPT_FALLBACK_REJECT,
                                       not_vp8, sizeof not_vp8, protected_frame,
                                       sizeof protected_frame, &protected_len, NULL),
             FRAMECRYPT_ERR_INVALID_PARAMETER);
    CHECK_RC(framecrypt_sender_protect(sender, FRAMECRYPT_CODEC_VP8, (framecrypt_fallback)2,
                                       not_vp8, sizeof not_vp8, protected_frame,
                                       sizeof protected_frame, &protected_len, NULL),
             FRAMECRYPT_ERR_INVALID_PARAMETER);
    CHECK_RC(framecrypt_receiver_unprotect(receiver, 0, (framecrypt_codec)99,
                                           FRAMECRYPT_FALLBACK_REJECT, protected_frame,
                                           protected_len, out, sizeof out, &out_len, NULL),
             FRAMECRYPT_ERR_INVALID_PARAMETER);
    CHECK_RC(framecrypt_receiver_unprotect(receiver, 0, FRAMECRYPT_CODEC_VP8,
                                           (framecrypt_fallback)0, protected_frame,
                                           protected_len, out, sizeof out, &out_len, NULL),
             FRAMECRYPT_ERR_INVALID_PARAMETER);
    CHECK_RC(framecrypt_sfu_inspect((framecrypt_codec)99, protected_frame, protected_len, &view),
             FRAMECRYPT_ERR_INVALID_PARAMETER);

    framecrypt_receiver_free(receiver);
    framecrypt_sender_free(sender);
}

/* ------------------------------------------------------------------------
 * Typed arguments: a value of one enum passed for another is refused
 * ------------------------------------------------------------------------ */

/*
 * Suite, codec and fallback are three enums with disjoint values. In C++ a
 * swapped argument does not compile, and C compilers warn about it
 * (-Wenum-conversion, in -Wextra; ffi/run-c-tests.sh checks both). A C
 * caller who casts one through anyway is refused at run time: before the
 * enums, codec and fallback shared the numbers 0 and 1, and a swapped call
 * returned success and protected a VP8 frame as Opus.
 */
static void test_swapped_arguments(void)
{
    static const uint8_t opus[8] = {0x78, 1, 2, 3, 4, 5, 6, 7};
    uint8_t out[BUF_LEN], frame[BUF_LEN];
    size_t out_len = 12345, len = 12345;
    framecrypt_sender *sender = NULL, *other = NULL;
    framecrypt_receiver *receiver = NULL;
    framecrypt_header header = {0, 0};
    framecrypt_sfu_view view = {.struct_size = sizeof(framecrypt_sfu_view)};
    const framecrypt_suite suite = FRAMECRYPT_SUITE_AES_128_GCM_SHA256_128;

    if (!CHECK_OK(framecrypt_sender_new(suite, 3, KEY16, sizeof KEY16, &sender)) ||
        !CHECK_OK(framecrypt_receiver_new(&receiver))) {
        framecrypt_sender_free(sender);
        return;
    }
    CHECK_OK(framecrypt_receiver_add_key(receiver, suite, 3, KEY16, sizeof KEY16));
    memset(out, 0xa5, sizeof out);

    /* Codec and fallback swapped, both ways round. */
    CHECK_RC(framecrypt_sender_protect(sender, (framecrypt_codec)FRAMECRYPT_FALLBACK_REJECT,
                                       (framecrypt_fallback)FRAMECRYPT_CODEC_OPUS, opus,
                                       sizeof opus, out, sizeof out, &out_len, NULL),
             FRAMECRYPT_ERR_INVALID_PARAMETER);
    CHECK_RC(framecrypt_sender_protect(sender, (framecrypt_codec)FRAMECRYPT_FALLBACK_WHOLE_FRAME,
                                       (framecrypt_fallback)FRAMECRYPT_CODEC_VP8, opus,
                                       sizeof opus, out, sizeof out, &out_len, NULL),
             FRAMECRYPT_ERR_INVALID_PARAMETER);
    /* A suite where a codec goes, a codec where a suite goes. */
    CHECK_RC(framecrypt_sender_protect(sender, (framecrypt_codec)suite,
                                       FRAMECRYPT_FALLBACK_REJECT, opus, sizeof opus, out,
                                       sizeof out, &out_len, NULL),
             FRAMECRYPT_ERR_INVALID_PARAMETER);
    CHECK_RC(framecrypt_sender_max_protected_len(sender, (framecrypt_codec)suite, 10, &len),
             FRAMECRYPT_ERR_INVALID_PARAMETER);
    CHECK_RC(framecrypt_sender_new((framecrypt_suite)FRAMECRYPT_CODEC_OPUS, 1, KEY16,
                                   sizeof KEY16, &other),
             FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE);
    CHECK_RC(framecrypt_receiver_add_key(receiver, (framecrypt_suite)FRAMECRYPT_FALLBACK_REJECT,
                                         4, KEY16, sizeof KEY16),
             FRAMECRYPT_ERR_UNSUPPORTED_CIPHER_SUITE);
    CHECK(other == NULL);
    /* Nothing was written, and no counter value used. */
    CHECK_U64(out_len, 12345);
    CHECK_U64(len, 12345);
    CHECK(all_bytes(out, sizeof out, 0xa5));
    CHECK_NEXT_CTR(sender, 0);

    /* The receiving side and the SFU's view refuse the same swaps. */
    if (CHECK_OK(framecrypt_sender_protect(sender, FRAMECRYPT_CODEC_OPUS,
                                           FRAMECRYPT_FALLBACK_REJECT, opus, sizeof opus, frame,
                                           sizeof frame, &len, NULL))) {
        CHECK_RC(framecrypt_receiver_unprotect(receiver, 0,
                                               (framecrypt_codec)FRAMECRYPT_FALLBACK_REJECT,
                                               (framecrypt_fallback)FRAMECRYPT_CODEC_OPUS, frame,
                                               len, out, sizeof out, &out_len, &header),
                 FRAMECRYPT_ERR_INVALID_PARAMETER);
        CHECK_RC(framecrypt_receiver_unprotect_in_place(
                     receiver, 0, (framecrypt_codec)FRAMECRYPT_FALLBACK_REJECT,
                     (framecrypt_fallback)FRAMECRYPT_CODEC_OPUS, frame, len, &out_len, &header),
                 FRAMECRYPT_ERR_INVALID_PARAMETER);
        CHECK_RC(framecrypt_sfu_inspect((framecrypt_codec)FRAMECRYPT_FALLBACK_REJECT, frame, len,
                                        &view),
                 FRAMECRYPT_ERR_INVALID_PARAMETER);
        /* The frame is untouched and opens once, the right way round. */
        if (CHECK_OK(framecrypt_receiver_unprotect(receiver, 0, FRAMECRYPT_CODEC_OPUS,
                                                   FRAMECRYPT_FALLBACK_REJECT, frame, len, out,
                                                   sizeof out, &out_len, &header))) {
            CHECK_BYTES(out, out_len, opus, sizeof opus);
        }
    }

    framecrypt_receiver_free(receiver);
    framecrypt_sender_free(sender);
}

/* ------------------------------------------------------------------------
 * Handles: the wrong type, freed, or no object at all
 * ------------------------------------------------------------------------ */

/*
 * Every entry point that takes a sender, with a handle `bad` that must be
 * refused with `want`.
 */
static void check_bad_sender(framecrypt_sender *bad, framecrypt_result want)
{
    uint8_t buf[BUF_LEN];
    const uint8_t pt[4] = {1, 2, 3, 4};
    size_t len = 777;
    uint64_t n = 777, generation = 777, step = 777;
    bool whole = false;

    CHECK_RC(framecrypt_sender_kid(bad, &n), want);
    CHECK_RC(framecrypt_sender_next_counter(bad, &n), want);
    CHECK_RC(framecrypt_sender_encrypted_len(bad, 4, &len), want);
    CHECK_RC(framecrypt_sender_max_protected_len(bad, FRAMECRYPT_CODEC_OPUS, 4, &len), want);
    CHECK_RC(framecrypt_sender_encrypt(bad, NULL, 0, pt, sizeof pt, buf, sizeof buf, &len),
             want);
    CHECK_RC(framecrypt_sender_protect(bad, FRAMECRYPT_CODEC_OPUS, FRAMECRYPT_FALLBACK_REJECT,
                                       pt, sizeof pt, buf, sizeof buf, &len, &whole),
             want);
    CHECK_RC(framecrypt_sender_ratchet(bad), want);
    CHECK_RC(framecrypt_sender_rekey(bad, KEY16, sizeof KEY16), want);
    CHECK_RC(framecrypt_sender_current_key(bad, buf, sizeof buf, &len, &generation, &step),
             want);
    CHECK_U64(len, 777);
    CHECK_U64(n, 777);
    CHECK_U64(generation, 777);
    CHECK(!whole);
}

/* The same for every entry point that takes a receiver. */
static void check_bad_receiver(framecrypt_receiver *bad, framecrypt_result want)
{
    uint8_t frame[64], out[64];
    size_t len = 777;
    bool removed = false;
    framecrypt_header header = {7, 7};

    memset(frame, 0x11, sizeof frame);
    CHECK_RC(framecrypt_receiver_add_key(bad, FRAMECRYPT_SUITE_AES_128_GCM_SHA256_128, 1, KEY16,
                                         sizeof KEY16),
             want);
    CHECK_RC(framecrypt_receiver_remove_key(bad, 1, &removed), want);
    CHECK_RC(framecrypt_receiver_install_key(bad, 0, 1, 0, KEY16, sizeof KEY16), want);
    CHECK_RC(framecrypt_receiver_decrypt(bad, 0, NULL, 0, frame, sizeof frame, out, sizeof out,
                                         &len, &header),
             want);
    CHECK_RC(framecrypt_receiver_decrypt_in_place(bad, 0, NULL, 0, frame, sizeof frame, &len,
                                                  &header),
             want);
    CHECK_RC(framecrypt_receiver_unprotect(bad, 0, FRAMECRYPT_CODEC_VP8,
                                           FRAMECRYPT_FALLBACK_REJECT, frame, sizeof frame, out,
                                           sizeof out, &len, &header),
             want);
    CHECK_RC(framecrypt_receiver_unprotect_in_place(bad, 0, FRAMECRYPT_CODEC_H264,
                                                    FRAMECRYPT_FALLBACK_REJECT, frame,
                                                    sizeof frame, &len, &header),
             want);
    CHECK_U64(len, 777);
    CHECK(!removed);
    CHECK_U64(header.kid, 7);
    CHECK(all_bytes(frame, sizeof frame, 0x11));
}

/*
 * A receiver passed where a sender goes (and the other way round) takes a
 * cast, which compiles: it is refused with FRAMECRYPT_ERR_WRONG_OBJECT.
 * A freed handle, and a pointer to something else entirely, are refused
 * with FRAMECRYPT_ERR_INVALID_HANDLE, never dereferenced (this test runs
 * under valgrind too). Freeing twice, or freeing with the other type's
 * _free, does nothing.
 */
static void test_handles(void)
{
    uint8_t frame[64], out[64];
    const uint8_t pt[5] = {'h', 'e', 'l', 'l', 'o'};
    size_t len = 0;
    uint64_t not_an_object[8] = {0};
    framecrypt_sender *sender = NULL, *freed_sender = NULL;
    framecrypt_receiver *receiver = NULL, *freed_receiver = NULL;
    const framecrypt_suite suite = FRAMECRYPT_SUITE_AES_128_GCM_SHA256_128;

    if (!CHECK_OK(framecrypt_sender_new(suite, 5, KEY16, sizeof KEY16, &sender)) ||
        !CHECK_OK(framecrypt_receiver_new(&receiver))) {
        framecrypt_sender_free(sender);
        return;
    }
    CHECK_OK(framecrypt_receiver_add_key(receiver, suite, 5, KEY16, sizeof KEY16));
    /* Freed handles, made last so that no object made afterwards can be
     * given their memory before the checks below. */
    CHECK_OK(framecrypt_sender_new(suite, 6, KEY16, sizeof KEY16, &freed_sender));
    CHECK_OK(framecrypt_receiver_new(&freed_receiver));
    framecrypt_sender_free(freed_sender);
    framecrypt_receiver_free(freed_receiver);

    check_bad_sender((framecrypt_sender *)(void *)receiver, FRAMECRYPT_ERR_WRONG_OBJECT);
    check_bad_sender(freed_sender, FRAMECRYPT_ERR_INVALID_HANDLE);
    check_bad_sender((framecrypt_sender *)(void *)not_an_object, FRAMECRYPT_ERR_INVALID_HANDLE);
    check_bad_receiver((framecrypt_receiver *)(void *)sender, FRAMECRYPT_ERR_WRONG_OBJECT);
    check_bad_receiver(freed_receiver, FRAMECRYPT_ERR_INVALID_HANDLE);
    check_bad_receiver((framecrypt_receiver *)(void *)not_an_object,
                       FRAMECRYPT_ERR_INVALID_HANDLE);

    /* Freed twice, or freed as the other type: nothing happens. */
    framecrypt_sender_free(freed_sender);
    framecrypt_receiver_free(freed_receiver);
    framecrypt_receiver_free((framecrypt_receiver *)(void *)sender);
    framecrypt_sender_free((framecrypt_sender *)(void *)receiver);
    framecrypt_sender_free((framecrypt_sender *)(void *)not_an_object);
    CHECK(all_bytes((const uint8_t *)not_an_object, sizeof not_an_object, 0));

    /* The live objects are untouched: counter 0 is still unused, and the
     * receiver still holds its key. */
    CHECK_NEXT_CTR(sender, 0);
    if (CHECK_OK(framecrypt_sender_encrypt(sender, NULL, 0, pt, sizeof pt, frame, sizeof frame,
                                           &len))) {
        size_t out_len = 0;
        if (CHECK_OK(framecrypt_receiver_decrypt(receiver, 0, NULL, 0, frame, len, out,
                                                 sizeof out, &out_len, NULL))) {
            CHECK_BYTES(out, out_len, pt, sizeof pt);
        }
    }

    framecrypt_receiver_free(receiver);
    framecrypt_sender_free(sender);
    /* A handle freed through its own _free is now refused too. */
    check_bad_sender(sender, FRAMECRYPT_ERR_INVALID_HANDLE);
    check_bad_receiver(receiver, FRAMECRYPT_ERR_INVALID_HANDLE);
}

/* ------------------------------------------------------------------------
 * Output sizes: exactly what is needed is accepted; less is refused with
 * the size needed
 * ------------------------------------------------------------------------ */

/* A synthetic H.264 access unit: SPS, PPS, one IDR slice of `body_len`
 * bytes (none zero, so no start code emulation). Returns its length. */
static size_t h264_access_unit(uint8_t *au, size_t cap, size_t body_len)
{
    static const uint8_t head[] = {
        0, 0, 0, 1, 0x67, 0x42, 0x00, 0x1f, /* SPS */
        0, 0, 1, 0x68, 0xce, 0x3c, 0x80,   /* PPS */
        0, 0, 1, 0x65, 0x88, 0x84,         /* IDR: first_mb 0, slice_type 7, PPS 0 */
    };
    size_t i, len = 0;
    if (!CHECK(sizeof head + body_len + 1 <= cap)) {
        return 0;
    }
    memcpy(au, head, sizeof head);
    len = sizeof head;
    for (i = 0; i < body_len; i++) {
        au[len++] = (uint8_t)(1 + (i * 37) % 255);
    }
    au[len++] = 0x80; /* rbsp_stop_one_bit */
    return len;
}

/* malloc(len) holding a copy of `src`: a buffer with no slack, so that
 * valgrind sees any write past it. */
static uint8_t *exact_copy(const uint8_t *src, size_t len)
{
    uint8_t *copy = malloc(len > 0 ? len : 1);
    if (CHECK(copy != NULL) && len > 0) {
        memcpy(copy, src, len);
    }
    return copy;
}

static void test_exact_sizes(void)
{
    uint8_t au[1024], big[2048], frame[BUF_LEN], out[BUF_LEN];
    const uint8_t pt[40] = "a frame of forty bytes, no more, no less";
    size_t au_len = h264_access_unit(au, sizeof au, 700);
    size_t max = 0, least = 0, protected_len = 0, len = 0, frame_len = 0, out_len = 0;
    uint64_t ctr = 0;
    uint8_t *buf = NULL;
    framecrypt_sender *first = NULL, *second = NULL, *third = NULL;
    framecrypt_receiver *receiver = NULL;
    framecrypt_header header = {0, 0};
    const framecrypt_suite suite = FRAMECRYPT_SUITE_AES_128_GCM_SHA256_128;

    /* Three senders with one key and KID, each at counter 0, make the same
     * frame of the same input: the first tells the length the others get.
     * (Only a test may do this: see "One key, one sender" in the header.) */
    if (!CHECK_OK(framecrypt_sender_new(suite, 9, KEY16, sizeof KEY16, &first)) ||
        !CHECK_OK(framecrypt_sender_new(suite, 9, KEY16, sizeof KEY16, &second)) ||
        !CHECK_OK(framecrypt_sender_new(suite, 9, KEY16, sizeof KEY16, &third)) ||
        !CHECK_OK(framecrypt_receiver_new(&receiver))) {
        goto done;
    }
    CHECK_OK(framecrypt_receiver_add_key(receiver, suite, 9, KEY16, sizeof KEY16));

    /* H.264: the worst case is far above what the frame needs. */
    CHECK_OK(framecrypt_sender_max_protected_len(first, FRAMECRYPT_CODEC_H264, au_len, &max));
    CHECK_OK(framecrypt_sender_encrypted_len(first, au_len, &least));
    CHECK(max > least + au_len / 4 && max <= sizeof big);
    if (!CHECK_OK(framecrypt_sender_protect(first, FRAMECRYPT_CODEC_H264,
                                            FRAMECRYPT_FALLBACK_REJECT, au, au_len, big, max,
                                            &protected_len, NULL))) {
        goto done;
    }
    CHECK(protected_len >= least && protected_len < max);

    /* Exactly the length of the result, in a buffer of exactly that size. */
    buf = exact_copy(big, protected_len);
    memset(buf, 0, protected_len);
    if (CHECK_OK(framecrypt_sender_protect(second, FRAMECRYPT_CODEC_H264,
                                           FRAMECRYPT_FALLBACK_REJECT, au, au_len, buf,
                                           protected_len, &len, NULL))) {
        CHECK_BYTES(buf, len, big, protected_len);
    }
    free(buf);

    /* One byte less: refused, with the length needed. The counter is used
     * only if the frame had to be encrypted to find out (escaping). */
    len = 0;
    CHECK_RC(framecrypt_sender_protect(third, FRAMECRYPT_CODEC_H264, FRAMECRYPT_FALLBACK_REJECT,
                                       au, au_len, frame, protected_len - 1, &len, NULL),
             FRAMECRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK_U64(len, protected_len);
    CHECK_OK(framecrypt_sender_next_counter(third, &ctr));
    CHECK_U64(ctr, protected_len == least ? 0 : 1);
    /* Below the least a frame can need: refused with that, no counter. */
    len = 0;
    CHECK_RC(framecrypt_sender_protect(third, FRAMECRYPT_CODEC_H264, FRAMECRYPT_FALLBACK_REJECT,
                                       au, au_len, frame, least - 1, &len, NULL),
             FRAMECRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK_U64(len, least);
    CHECK_OK(framecrypt_sender_next_counter(third, &ctr));
    CHECK_U64(ctr, protected_len == least ? 0 : 1);

    /* Unprotect works in its output: it needs the protected length. */
    len = 0;
    CHECK_RC(framecrypt_receiver_unprotect(receiver, 0, FRAMECRYPT_CODEC_H264,
                                           FRAMECRYPT_FALLBACK_REJECT, big, protected_len, out,
                                           protected_len - 1, &len, NULL),
             FRAMECRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK_U64(len, protected_len);
    /* In place, in a buffer of exactly the protected frame. */
    buf = exact_copy(big, protected_len);
    if (CHECK_OK(framecrypt_receiver_unprotect_in_place(receiver, 0, FRAMECRYPT_CODEC_H264,
                                                        FRAMECRYPT_FALLBACK_REJECT, buf,
                                                        protected_len, &len, &header))) {
        CHECK_BYTES(buf, len, au, au_len);
        CHECK_U64(header.kid, 9);
        CHECK_U64(header.ctr, 0);
    }
    free(buf);
    /* Once only: a replay is refused in place too, and leaves no plaintext. */
    buf = exact_copy(big, protected_len);
    CHECK_RC(framecrypt_receiver_unprotect_in_place(receiver, 0, FRAMECRYPT_CODEC_H264,
                                                    FRAMECRYPT_FALLBACK_REJECT, buf,
                                                    protected_len, &len, &header),
             FRAMECRYPT_ERR_REPLAYED);
    CHECK(!contains(buf, protected_len, au + 40, 32));
    free(buf);

    /* Plain frames: exactly the encrypted length, and one byte less. */
    CHECK_OK(framecrypt_sender_encrypted_len(second, sizeof pt, &least));
    len = 0;
    CHECK_RC(framecrypt_sender_encrypt(second, NULL, 0, pt, sizeof pt, frame, least - 1, &len),
             FRAMECRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK_U64(len, least);
    buf = malloc(least);
    if (CHECK(buf != NULL) &&
        CHECK_OK(framecrypt_sender_encrypt(second, NULL, 0, pt, sizeof pt, buf, least,
                                           &frame_len))) {
        CHECK_U64(frame_len, least);
        memcpy(frame, buf, frame_len);
        /* Decrypt: exactly the plaintext length, and one byte less (which
         * is refused with the length and changes nothing). */
        out_len = 0;
        CHECK_RC(framecrypt_receiver_decrypt(receiver, 0, NULL, 0, frame, frame_len, out,
                                             sizeof pt - 1, &out_len, NULL),
                 FRAMECRYPT_ERR_BUFFER_TOO_SMALL);
        CHECK_U64(out_len, sizeof pt);
        free(buf);
        buf = malloc(sizeof pt);
        if (CHECK(buf != NULL) &&
            CHECK_OK(framecrypt_receiver_decrypt(receiver, 0, NULL, 0, frame, frame_len, buf,
                                                 sizeof pt, &out_len, &header))) {
            CHECK_BYTES(buf, out_len, pt, sizeof pt);
            CHECK_U64(header.ctr, 1);
        }
    }
    free(buf);

    /* Plain frames in place, in a buffer of exactly the frame. */
    if (CHECK_OK(framecrypt_sender_encrypt(second, pt, 3, pt, sizeof pt, frame, sizeof frame,
                                           &frame_len))) {
        buf = exact_copy(frame, frame_len);
        CHECK_RC(framecrypt_receiver_decrypt_in_place(receiver, 0, buf, 3, buf, frame_len,
                                                      &out_len, NULL),
                 FRAMECRYPT_ERR_BUFFERS_OVERLAP);
        if (CHECK_OK(framecrypt_receiver_decrypt_in_place(receiver, 0, pt, 3, buf, frame_len,
                                                          &out_len, &header))) {
            CHECK_BYTES(buf, out_len, pt, sizeof pt);
            CHECK_U64(header.ctr, 2);
        }
        free(buf);
    }

    /* VP8 and Opus in place (no copy kept by the receiver). */
    {
        static const uint8_t vp8[16] = {0x31, 0x02, 0x00, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e,
                                        0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66};
        static const framecrypt_codec codecs[2] = {FRAMECRYPT_CODEC_VP8, FRAMECRYPT_CODEC_OPUS};
        size_t i;
        for (i = 0; i < 2; i++) {
            if (!CHECK_OK(framecrypt_sender_protect(second, codecs[i], FRAMECRYPT_FALLBACK_REJECT,
                                                    vp8, sizeof vp8, frame, sizeof frame,
                                                    &frame_len, NULL))) {
                continue;
            }
            buf = exact_copy(frame, frame_len);
            if (CHECK_OK(framecrypt_receiver_unprotect_in_place(receiver, 0, codecs[i],
                                                                FRAMECRYPT_FALLBACK_REJECT, buf,
                                                                frame_len, &out_len, NULL))) {
                CHECK_BYTES(buf, out_len, vp8, sizeof vp8);
            }
            free(buf);
        }
    }

done:
    framecrypt_receiver_free(receiver);
    framecrypt_sender_free(third);
    framecrypt_sender_free(second);
    framecrypt_sender_free(first);
}

/* ------------------------------------------------------------------------
 * A struct that may grow: framecrypt_sfu_view.struct_size
 * ------------------------------------------------------------------------ */

static void test_struct_size(void)
{
    static const uint8_t opus[6] = {0x78, 1, 2, 3, 4, 5};
    uint8_t frame[BUF_LEN];
    size_t frame_len = 0;
    framecrypt_sender *sender = NULL;
    framecrypt_sfu_view view;
    /* The struct as a newer header might declare it: fields at the end. */
    struct {
        framecrypt_sfu_view view;
        uint8_t newer_fields[24];
    } newer;

    if (!CHECK_OK(framecrypt_sender_new(FRAMECRYPT_SUITE_AES_128_GCM_SHA256_128, 2, KEY16,
                                        sizeof KEY16, &sender)) ||
        !CHECK_OK(framecrypt_sender_protect(sender, FRAMECRYPT_CODEC_OPUS,
                                            FRAMECRYPT_FALLBACK_REJECT, opus, sizeof opus, frame,
                                            sizeof frame, &frame_len, NULL))) {
        framecrypt_sender_free(sender);
        return;
    }
    /* Smaller than this version's struct (an unset field, say): refused,
     * nothing written. */
    memset(&view, 0x5a, sizeof view);
    view.struct_size = sizeof view - 1;
    CHECK_RC(framecrypt_sfu_inspect(FRAMECRYPT_CODEC_OPUS, frame, frame_len, &view),
             FRAMECRYPT_ERR_INVALID_PARAMETER);
    view.struct_size = 0;
    CHECK_RC(framecrypt_sfu_inspect(FRAMECRYPT_CODEC_OPUS, frame, frame_len, &view),
             FRAMECRYPT_ERR_INVALID_PARAMETER);
    CHECK(all_bytes((const uint8_t *)&view + sizeof view.struct_size,
                    sizeof view - sizeof view.struct_size, 0x5a));
    /* Exactly this version's struct. */
    view.struct_size = sizeof view;
    if (CHECK_OK(framecrypt_sfu_inspect(FRAMECRYPT_CODEC_OPUS, frame, frame_len, &view))) {
        CHECK_U64(view.struct_size, sizeof view);
        CHECK_U64(view.opus_toc, 0x78);
        CHECK_U64(view.header.kid, 2);
    }
    /* A larger struct: this version fills its own fields and leaves the
     * rest as the caller set it. */
    memset(&newer, 0x5a, sizeof newer);
    newer.view.struct_size = sizeof newer;
    if (CHECK_OK(framecrypt_sfu_inspect(FRAMECRYPT_CODEC_OPUS, frame, frame_len, &newer.view))) {
        CHECK_U64(newer.view.struct_size, sizeof newer);
        CHECK_U64(newer.view.opus_toc, 0x78);
        CHECK(all_bytes(newer.newer_fields, sizeof newer.newer_fields, 0x5a));
    }
    framecrypt_sender_free(sender);
}

/* ------------------------------------------------------------------------ */

int main(void)
{
    size_t i;

    printf("framecrypt %s C API tests\n", framecrypt_version());
    fflush(stdout);

    test_version_and_messages();
    test_header_vectors();
    for (i = 0; i < COUNT(SFRAME_VECTORS); i++) {
        unsigned long failed_before = checks_failed;
        test_vector_decrypt(&SFRAME_VECTORS[i]);
        test_vector_encrypt(&SFRAME_VECTORS[i]);
        if (checks_failed > failed_before) {
            fprintf(stderr, "    (the failures above are for the suite %u vector)\n",
                    (unsigned)SFRAME_VECTORS[i].suite);
        }
    }
    test_suites_and_keys();
    test_null_pointers();
    test_empty_buffers();
    test_overlap();
    test_wrong_kind();
    test_ratcheting();
    test_ratchet_distance();
    test_counter_persistence();
    test_joiner(FRAMECRYPT_SUITE_AES_128_CTR_HMAC_SHA256_80, 32);
    test_joiner(FRAMECRYPT_SUITE_AES_128_GCM_SHA256_128, 32);
    test_joiner(FRAMECRYPT_SUITE_AES_256_GCM_SHA512_128, 64);
    test_joiner(FRAMECRYPT_SUITE_AES_256_CTR_HMAC_SHA512_32, 64);
    test_vp8();
    test_opus();
    test_fallback_and_parameters();
    test_swapped_arguments();
    test_handles();
    test_exact_sizes();
    test_struct_size();

    if (checks_failed > 0) {
        printf("C API tests: %lu of %lu checks FAILED\n", checks_failed,
               checks_passed + checks_failed);
        return 1;
    }
    printf("C API tests: %lu checks passed\n", checks_passed);
    return 0;
}
