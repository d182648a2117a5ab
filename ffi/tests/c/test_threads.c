/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/*
 * framecrypt objects used from several threads at once, as a libwebrtc
 * integration uses them (keys set on the signalling thread while the
 * encoder and decoder threads transform frames):
 *
 *   1. two threads encrypt with one sender: every frame gets a counter of
 *      its own (a counter used twice is AES nonce reuse);
 *   2. one thread adds, replaces and removes keys while another decrypts:
 *      every frame decrypts to its plaintext;
 *   3. two threads decrypt the same frames with one ratcheting receiver:
 *      each frame is accepted exactly once.
 *
 * Usage: test_threads [ROUNDS]  (default 100000 frames per thread; fewer
 * under helgrind, which ffi/run-c-tests.sh runs it under as well).
 */

/* pthread barriers (POSIX.1-2001), beyond plain C11. */
#define _POSIX_C_SOURCE 200112L

#include "framecrypt.h"

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long failures;

#define FAIL(...)                                                              \
    do {                                                                       \
        fprintf(stderr, __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                   \
        failures++;                                                            \
    } while (0)

static size_t rounds = 100000;

/* Threads that race start together. */
static pthread_barrier_t start;
static const uint8_t KEY[16] = {0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t OTHER_KEY[16] = {0x24};
#define SUITE FRAMECRYPT_SUITE_AES_128_GCM_SHA256_128
#define FRAME_CAP 64

/* ------------------------------------------------------------------------
 * 1. Two threads, one sender
 * ------------------------------------------------------------------------ */

struct encryptor {
    framecrypt_sender *sender;
    uint64_t *counters;
    unsigned long errors;
};

static void *encrypt_frames(void *arg)
{
    struct encryptor *e = arg;
    const uint8_t pt[24] = "a frame from the encoder";
    uint8_t frame[FRAME_CAP];
    size_t i, len = 0, header_len = 0;
    framecrypt_header header;

    pthread_barrier_wait(&start);
    for (i = 0; i < rounds; i++) {
        if (framecrypt_sender_encrypt(e->sender, NULL, 0, pt, sizeof pt, frame, sizeof frame,
                                      &len) != FRAMECRYPT_OK ||
            framecrypt_header_parse(frame, len, &header, &header_len) != FRAMECRYPT_OK) {
            e->errors++;
            e->counters[i] = UINT64_MAX - i;
            continue;
        }
        e->counters[i] = header.ctr;
    }
    return NULL;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void one_sender_two_threads(void)
{
    struct encryptor e[2];
    pthread_t threads[2];
    uint64_t *all = malloc(2 * rounds * sizeof *all);
    uint64_t next = 0;
    size_t i, repeated = 0;
    framecrypt_sender *sender = NULL;

    if (all == NULL ||
        framecrypt_sender_new(SUITE, 1, KEY, sizeof KEY, &sender) != FRAMECRYPT_OK) {
        FAIL("setup failed");
        free(all);
        return;
    }
    for (i = 0; i < 2; i++) {
        e[i].sender = sender;
        e[i].counters = all + i * rounds;
        e[i].errors = 0;
        pthread_create(&threads[i], NULL, encrypt_frames, &e[i]);
    }
    for (i = 0; i < 2; i++) {
        pthread_join(threads[i], NULL);
    }
    qsort(all, 2 * rounds, sizeof *all, compare_u64);
    for (i = 1; i < 2 * rounds; i++) {
        repeated += all[i] == all[i - 1];
    }
    framecrypt_sender_next_counter(sender, &next);
    if (e[0].errors + e[1].errors > 0) {
        FAIL("one sender, two threads: %lu calls failed", e[0].errors + e[1].errors);
    }
    if (repeated > 0 || next != 2 * rounds) {
        FAIL("one sender, two threads: %zu of %zu counters used twice; next counter %" PRIu64
             ", expected %zu",
             repeated, 2 * rounds, next, 2 * rounds);
    } else {
        printf("one sender, two threads: %zu frames, every counter once\n", 2 * rounds);
    }
    framecrypt_sender_free(sender);
    free(all);
}

/* ------------------------------------------------------------------------
 * 2. Keys change on one thread while another decrypts
 * ------------------------------------------------------------------------ */

struct frames {
    uint8_t (*bytes)[FRAME_CAP];
    size_t *lens;
    size_t count;
};

/* A flag one thread raises and another reads, under a mutex (which thread
 * checkers understand, unlike a plain or atomic flag). */
struct flag {
    pthread_mutex_t lock;
    int raised;
};

static void raise_flag(struct flag *f)
{
    pthread_mutex_lock(&f->lock);
    f->raised = 1;
    pthread_mutex_unlock(&f->lock);
}

static int is_raised(struct flag *f)
{
    int raised;
    pthread_mutex_lock(&f->lock);
    raised = f->raised;
    pthread_mutex_unlock(&f->lock);
    return raised;
}

struct decryptor {
    framecrypt_receiver *receiver;
    const struct frames *frames;
    unsigned long accepted, wrong_plaintext, other_errors;
    struct flag *done;
    int wait; /* for the start barrier */
};

/* Frame i's plaintext: "frame " and i as 8 bytes, little-endian, and two
 * bytes of padding. */
static void make_plaintext(size_t i, uint8_t pt[16])
{
    size_t b;
    memcpy(pt, "frame ", 6);
    for (b = 0; b < 8; b++) {
        pt[6 + b] = (uint8_t)((uint64_t)i >> (8 * b));
    }
    pt[14] = '.';
    pt[15] = '.';
}

static void *decrypt_frames(void *arg)
{
    struct decryptor *d = arg;
    uint8_t out[FRAME_CAP], pt[16];
    size_t i, len = 0;

    if (d->wait) {
        pthread_barrier_wait(&start);
    }
    for (i = 0; i < d->frames->count; i++) {
        framecrypt_result r;
        /* Let the key changer in now and then (valgrind runs one thread at
         * a time and switches rarely on its own). */
        if (d->done != NULL && i % 8 == 0) {
            sched_yield();
        }
        r = framecrypt_receiver_decrypt(d->receiver, 0, NULL, 0, d->frames->bytes[i],
                                        d->frames->lens[i], out, sizeof out, &len, NULL);
        if (r == FRAMECRYPT_OK) {
            d->accepted++;
            make_plaintext(i, pt);
            if (len != sizeof pt || memcmp(out, pt, sizeof pt) != 0) {
                d->wrong_plaintext++;
            }
        } else if (r != FRAMECRYPT_ERR_REPLAYED) {
            d->other_errors++;
        }
    }
    if (d->done != NULL) {
        raise_flag(d->done);
    }
    return NULL;
}

struct key_changer {
    framecrypt_receiver *receiver;
    struct flag *done;
    unsigned long changes, errors;
};

static void *change_keys(void *arg)
{
    struct key_changer *k = arg;
    uint64_t i = 0;
    bool removed = false;

    pthread_barrier_wait(&start);
    /* Until the decrypting thread is through: other keys come and go (the
     * store grows and shrinks under it), and the frames' own key is
     * installed again (the replace path; the same key, so the frames still
     * decrypt). */
    while (!is_raised(k->done)) {
        uint64_t kid = 2 + i % 32;
        if (framecrypt_receiver_add_key(k->receiver, SUITE, kid, OTHER_KEY, sizeof OTHER_KEY) !=
            FRAMECRYPT_OK) {
            k->errors++;
        }
        if (i % 3 == 0 &&
            framecrypt_receiver_remove_key(k->receiver, kid, &removed) != FRAMECRYPT_OK) {
            k->errors++;
        }
        if (i % 64 == 63 &&
            framecrypt_receiver_add_key(k->receiver, SUITE, 1, KEY, sizeof KEY) != FRAMECRYPT_OK) {
            k->errors++;
        }
        i++;
    }
    k->changes = (unsigned long)i;
    return NULL;
}

/* Encrypts `count` numbered frames with a fresh sender for KID 1. */
static int make_frames(struct frames *f, size_t count, int ratcheting)
{
    framecrypt_sender *sender = NULL;
    uint8_t pt[16];
    size_t i;
    framecrypt_result r =
        ratcheting ? framecrypt_sender_new_ratcheting(SUITE, 4, 1, KEY, sizeof KEY, &sender)
                   : framecrypt_sender_new(SUITE, 1, KEY, sizeof KEY, &sender);
    f->bytes = malloc(count * sizeof *f->bytes);
    f->lens = malloc(count * sizeof *f->lens);
    f->count = count;
    if (r != FRAMECRYPT_OK || f->bytes == NULL || f->lens == NULL) {
        framecrypt_sender_free(sender);
        return 0;
    }
    for (i = 0; i < count; i++) {
        make_plaintext(i, pt);
        if (framecrypt_sender_encrypt(sender, NULL, 0, pt, sizeof pt, f->bytes[i], FRAME_CAP,
                                      &f->lens[i]) != FRAMECRYPT_OK) {
            framecrypt_sender_free(sender);
            return 0;
        }
    }
    framecrypt_sender_free(sender);
    return 1;
}

static void free_frames(struct frames *f)
{
    free(f->bytes);
    free(f->lens);
}

static void keys_change_while_decrypting(void)
{
    struct frames frames;
    framecrypt_receiver *receiver = NULL;
    struct flag done = {PTHREAD_MUTEX_INITIALIZER, 0};
    struct decryptor d;
    struct key_changer k;
    pthread_t threads[2];

    if (!make_frames(&frames, rounds, 0) ||
        framecrypt_receiver_new(&receiver) != FRAMECRYPT_OK ||
        framecrypt_receiver_add_key(receiver, SUITE, 1, KEY, sizeof KEY) != FRAMECRYPT_OK) {
        FAIL("setup failed");
        free_frames(&frames);
        framecrypt_receiver_free(receiver);
        return;
    }
    memset(&d, 0, sizeof d);
    d.receiver = receiver;
    d.frames = &frames;
    d.done = &done;
    d.wait = 1;
    memset(&k, 0, sizeof k);
    k.receiver = receiver;
    k.done = &done;
    pthread_create(&threads[0], NULL, change_keys, &k);
    pthread_create(&threads[1], NULL, decrypt_frames, &d);
    pthread_join(threads[1], NULL);
    pthread_join(threads[0], NULL);
    /* A replaced key starts a fresh replay window, so no frame may be
     * refused as a replay either: every one must decrypt. */
    if (d.accepted != frames.count || d.wrong_plaintext > 0 || d.other_errors > 0 ||
        k.errors > 0 || k.changes == 0) {
        FAIL("keys changing while decrypting: %lu of %zu frames accepted, %lu with a wrong "
             "plaintext, %lu other errors, %lu failed key changes",
             d.accepted, frames.count, d.wrong_plaintext, d.other_errors, k.errors);
    } else {
        printf("keys changing while decrypting: %zu frames decrypted while %lu key changes "
               "ran\n",
               frames.count, k.changes);
    }
    framecrypt_receiver_free(receiver);
    free_frames(&frames);
}

/* ------------------------------------------------------------------------
 * 3. Two threads decrypt the same frames: each is accepted once
 * ------------------------------------------------------------------------ */

/* One race: returns 0 if it went wrong (and says how), 1 if not, and adds
 * the frames each thread accepted to `split`. */
static int each_frame_accepted_once(unsigned long split[2])
{
    struct frames frames;
    framecrypt_receiver *receiver = NULL;
    struct decryptor d[2];
    pthread_t threads[2];
    size_t i;
    int ok = 1;

    /* The replay window covers 128 counters: keep every frame inside it so
     * that the only refusals are replays. */
    size_t count = rounds < 128 ? rounds : 128;
    if (!make_frames(&frames, count, 1) ||
        framecrypt_receiver_new_ratcheting(SUITE, 4, &receiver) != FRAMECRYPT_OK ||
        framecrypt_receiver_install_key(receiver, 0, 1, 0, KEY, sizeof KEY) != FRAMECRYPT_OK) {
        FAIL("setup failed");
        free_frames(&frames);
        framecrypt_receiver_free(receiver);
        return 0;
    }
    for (i = 0; i < 2; i++) {
        memset(&d[i], 0, sizeof d[i]);
        d[i].receiver = receiver;
        d[i].frames = &frames;
        d[i].wait = 1;
        pthread_create(&threads[i], NULL, decrypt_frames, &d[i]);
    }
    for (i = 0; i < 2; i++) {
        pthread_join(threads[i], NULL);
        split[i] += d[i].accepted;
    }
    if (d[0].accepted + d[1].accepted != count || d[0].wrong_plaintext + d[1].wrong_plaintext ||
        d[0].other_errors + d[1].other_errors) {
        FAIL("two threads, one ratcheting receiver: %lu accepted of %zu frames (each must be "
             "accepted once), %lu wrong plaintexts, %lu other errors",
             d[0].accepted + d[1].accepted, count, d[0].wrong_plaintext + d[1].wrong_plaintext,
             d[0].other_errors + d[1].other_errors);
        ok = 0;
    }
    framecrypt_receiver_free(receiver);
    free_frames(&frames);
    return ok;
}

int main(int argc, char **argv)
{
    size_t i, repeat;
    unsigned long split[2] = {0, 0};

    if (argc > 1) {
        rounds = (size_t)strtoul(argv[1], NULL, 10);
        if (rounds == 0) {
            fprintf(stderr, "usage: %s [ROUNDS]\n", argv[0]);
            return 2;
        }
    }
    pthread_barrier_init(&start, NULL, 2);
    one_sender_two_threads();
    keys_change_while_decrypting();
    /* A short race: run it many times. */
    repeat = rounds / 128 < 1 ? 1 : rounds / 128;
    for (i = 0; i < repeat; i++) {
        if (!each_frame_accepted_once(split)) {
            break;
        }
    }
    if (i == repeat) {
        printf("two threads, one ratcheting receiver, %zu times 128 frames: each accepted "
               "once (%lu by one thread, %lu by the other)\n",
               repeat, split[0], split[1]);
    }
    pthread_barrier_destroy(&start);
    if (failures > 0) {
        printf("thread tests: %lu FAILED\n", failures);
        return 1;
    }
    printf("thread tests passed\n");
    return 0;
}
