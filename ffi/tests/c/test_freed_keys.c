/* SPDX-License-Identifier: MIT OR Apache-2.0 */

/*
 * No key survives in memory framecrypt freed: the C API's paths that
 * remove or replace a key (framecrypt_receiver_remove_key, _add_key over
 * an installed KID, _install_key over an older generation, the store
 * growing, framecrypt_sender_rekey, _free) leave no copy of the key in
 * any block handed back to the allocator.
 *
 * This program replaces malloc and friends (the definitions below take
 * precedence over the C library's for the whole program, the framecrypt
 * library included) with wrappers that keep a table of live blocks and
 * search every block for the key material before it is freed. The key
 * material is what RFC 9605 §4.4.2 derives for the suite-4 vector of
 * Appendix C (base key 00..0f, KID 0x123): the AES key (which AES key
 * schedules keep as round key 0) and the salt, and the base key itself.
 *
 * Two controls make the test able to fail: a block freed with a key in it
 * is found, and while a key is installed its derived bytes are found in
 * live memory (so the search looks for what the library really holds).
 * It runs natively only (valgrind replaces malloc itself), and is built
 * with -fno-builtin so that the compiler keeps the control's malloc and
 * free.
 */

#define _GNU_SOURCE /* memmem, malloc_usable_size */

#include "framecrypt.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* glibc's own allocator, under the names it exports for wrappers. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void __libc_free(void *ptr);

/* ------------------------------------------------------------------------
 * What to look for
 * ------------------------------------------------------------------------ */

static const uint8_t BASE_KEY[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                     0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
/* RFC 9605 Appendix C, AES_128_GCM_SHA256_128, KID 0x123. */
static const uint8_t SFRAME_KEY[16] = {0xd3, 0x4f, 0x54, 0x7f, 0x4c, 0xa4, 0xf9, 0xa7,
                                       0x44, 0x70, 0x06, 0xfe, 0x7f, 0xcb, 0xf7, 0x68};
static const uint8_t SFRAME_SALT[12] = {0x75, 0x23, 0x4e, 0xde, 0xfe, 0x07,
                                        0x81, 0x90, 0x26, 0x75, 0x18, 0x16};
/* The salt as a little-endian machine holds it in a 128-bit integer
 * (big-endian value, nonce = salt XOR counter in one operation). */
static const uint8_t SFRAME_SALT_REVERSED[12] = {0x16, 0x18, 0x75, 0x26, 0x90, 0x81,
                                                 0x07, 0xfe, 0xde, 0x4e, 0x23, 0x75};
#define KID 0x123u
#define SUITE FRAMECRYPT_SUITE_AES_128_GCM_SHA256_128
/* Another key, for replacing. */
static const uint8_t OTHER_KEY[16] = {0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee,
                                      0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee};

struct needle {
    const char *name;
    const uint8_t *bytes;
    size_t len;
};
static const struct needle NEEDLES[] = {
    {"base key", BASE_KEY, sizeof BASE_KEY},
    {"AES key", SFRAME_KEY, sizeof SFRAME_KEY},
    {"salt", SFRAME_SALT, sizeof SFRAME_SALT},
    {"salt (as an integer)", SFRAME_SALT_REVERSED, sizeof SFRAME_SALT_REVERSED},
};
#define NEEDLE_COUNT (sizeof NEEDLES / sizeof NEEDLES[0])

/* Which needles occur in `block`: a bit per needle. */
static unsigned found_in(const void *block, size_t len)
{
    unsigned found = 0;
    size_t i;
    for (i = 0; i < NEEDLE_COUNT; i++) {
        if (memmem(block, len, NEEDLES[i].bytes, NEEDLES[i].len) != NULL) {
            found |= 1u << i;
        }
    }
    return found;
}

/* ------------------------------------------------------------------------
 * The allocator wrappers
 * ------------------------------------------------------------------------ */

#define TABLE_SIZE (1u << 16)
static void *live_blocks[TABLE_SIZE];
static int scanning;          /* search freed blocks */
static unsigned freed_hits;   /* needles found in freed blocks */
static unsigned long frees;   /* blocks searched */

static size_t slot_of(const void *ptr)
{
    return (size_t)(((uintptr_t)ptr >> 4) * 2654435761u) & (TABLE_SIZE - 1);
}

static void track(void *ptr)
{
    size_t i, slot;
    if (ptr == NULL) {
        return;
    }
    slot = slot_of(ptr);
    for (i = 0; i < TABLE_SIZE; i++) {
        size_t s = (slot + i) & (TABLE_SIZE - 1);
        if (live_blocks[s] == NULL) {
            live_blocks[s] = ptr;
            return;
        }
    }
    abort(); /* the table is full: make it larger */
}

static void untrack(void *ptr)
{
    size_t i, slot = slot_of(ptr);
    for (i = 0; i < TABLE_SIZE; i++) {
        size_t s = (slot + i) & (TABLE_SIZE - 1);
        if (live_blocks[s] == ptr) {
            live_blocks[s] = NULL;
            /* Re-insert the rest of the probe run (linear probing). */
            for (s = (s + 1) & (TABLE_SIZE - 1); live_blocks[s] != NULL;
                 s = (s + 1) & (TABLE_SIZE - 1)) {
                void *moved = live_blocks[s];
                live_blocks[s] = NULL;
                track(moved);
            }
            return;
        }
    }
}

void *malloc(size_t size)
{
    void *ptr = __libc_malloc(size);
    track(ptr);
    return ptr;
}

void *calloc(size_t count, size_t size)
{
    void *ptr = __libc_calloc(count, size);
    track(ptr);
    return ptr;
}

void free(void *ptr)
{
    if (ptr == NULL) {
        return;
    }
    untrack(ptr);
    if (scanning) {
        unsigned found = found_in(ptr, malloc_usable_size(ptr));
        frees++;
        if (found != 0) {
            size_t i;
            for (i = 0; i < NEEDLE_COUNT; i++) {
                if (found & (1u << i)) {
                    freed_hits++;
                    fprintf(stderr, "    the %s was in a freed block of %zu bytes\n",
                            NEEDLES[i].name, malloc_usable_size(ptr));
                }
            }
        }
    }
    __libc_free(ptr);
}

/* Always moves the block, so that every growth frees a block (the case
 * where a key could be left behind). */
void *realloc(void *ptr, size_t size)
{
    void *moved;
    size_t old;
    if (ptr == NULL) {
        return malloc(size);
    }
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    moved = malloc(size);
    if (moved == NULL) {
        return NULL;
    }
    old = malloc_usable_size(ptr);
    memcpy(moved, ptr, old < size ? old : size);
    free(ptr);
    return moved;
}

void *memalign(size_t align, size_t size)
{
    void *ptr = __libc_memalign(align, size);
    track(ptr);
    return ptr;
}

void *aligned_alloc(size_t align, size_t size)
{
    return memalign(align, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    void *ptr = memalign(align, size);
    if (ptr == NULL) {
        return ENOMEM;
    }
    *out = ptr;
    return 0;
}

/* Which needles occur in live blocks. */
static unsigned found_live(void)
{
    unsigned found = 0;
    size_t s;
    for (s = 0; s < TABLE_SIZE; s++) {
        if (live_blocks[s] != NULL) {
            found |= found_in(live_blocks[s], malloc_usable_size(live_blocks[s]));
        }
    }
    return found;
}

/* ------------------------------------------------------------------------
 * The tests
 * ------------------------------------------------------------------------ */

static unsigned failures;

static void expect(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "FAILED: %s\n", what);
        failures++;
    }
}

static void expect_ok(framecrypt_result r, const char *what)
{
    if (r != FRAMECRYPT_OK) {
        fprintf(stderr, "FAILED: %s: %s\n", what, framecrypt_result_message(r));
        failures++;
    }
}

/* The derived bytes the search must find while a key is installed: the
 * salt always; the AES key where the key schedule keeps it. */
#define DERIVED ((1u << 1) | (1u << 2) | (1u << 3))
#define SALT ((1u << 2) | (1u << 3))

static void expect_installed(const char *what)
{
    unsigned live = found_live();
    if ((live & SALT) == 0) {
        fprintf(stderr, "FAILED: %s: the installed key's salt is not in live memory "
                        "(the search looks for the wrong bytes)\n",
                what);
        failures++;
    }
}

static void expect_gone(const char *what)
{
    unsigned live = found_live();
    if ((live & DERIVED) != 0) {
        fprintf(stderr, "FAILED: %s: key material still in live memory (mask %x)\n", what,
                live);
        failures++;
    }
}

static void controls(void)
{
    uint8_t *block;
    unsigned before = freed_hits;

    /* A freed block with the AES key in it is found... */
    block = malloc(100);
    memset(block, 0, 100);
    memcpy(block + 33, SFRAME_KEY, sizeof SFRAME_KEY);
    fprintf(stderr, "(control: a freed block holding the key is reported)\n");
    free(block);
    expect(freed_hits == before + 1, "control: a key in a freed block is found");
    /* ...and not counted against the library. */
    freed_hits = before;
}

static void plain_receiver(void)
{
    framecrypt_receiver *rx = NULL;
    bool removed = false;
    uint64_t kid;

    expect_ok(framecrypt_receiver_new(&rx), "receiver");
    expect_ok(framecrypt_receiver_add_key(rx, SUITE, KID, BASE_KEY, sizeof BASE_KEY), "add");
    expect_installed("plain receiver, key added");

    /* The store grows (and shrinks) around the key. */
    for (kid = 1; kid <= 100; kid++) {
        expect_ok(framecrypt_receiver_add_key(rx, SUITE, kid == KID ? 1000 : kid, OTHER_KEY,
                                              sizeof OTHER_KEY),
                  "add another");
    }
    for (kid = 1; kid <= 100; kid += 2) {
        expect_ok(framecrypt_receiver_remove_key(rx, kid, NULL), "remove another");
    }
    expect_installed("plain receiver, store grown and shrunk");

    /* Replace: the same KID, another key. */
    expect_ok(framecrypt_receiver_add_key(rx, SUITE, KID, OTHER_KEY, sizeof OTHER_KEY),
              "replace");
    expect_gone("plain receiver, key replaced");

    /* Install it again, then remove it. */
    expect_ok(framecrypt_receiver_add_key(rx, SUITE, KID, BASE_KEY, sizeof BASE_KEY), "re-add");
    expect_installed("plain receiver, key added again");
    expect_ok(framecrypt_receiver_remove_key(rx, KID, &removed), "remove");
    expect(removed, "the key was there to remove");
    expect_gone("plain receiver, key removed");

    /* And once more, freed with the receiver. */
    expect_ok(framecrypt_receiver_add_key(rx, SUITE, KID, BASE_KEY, sizeof BASE_KEY), "re-add");
    framecrypt_receiver_free(rx);
    expect_gone("plain receiver freed");
}

static void ratcheting_receiver(void)
{
    framecrypt_receiver *rx = NULL;

    /* Generation 0x12, step 3 with 4 ratchet bits is KID 0x123. */
    expect_ok(framecrypt_receiver_new_ratcheting(SUITE, 4, &rx), "ratcheting receiver");
    expect_ok(framecrypt_receiver_install_key(rx, 0, 0x12, 3, BASE_KEY, sizeof BASE_KEY),
              "install");
    expect_installed("ratcheting receiver, key installed");
    /* Newer generations replace it; it is kept for late frames a while,
     * then erased. */
    expect_ok(framecrypt_receiver_install_key(rx, 10, 0x13, 0, OTHER_KEY, sizeof OTHER_KEY),
              "install generation 0x13");
    expect_ok(framecrypt_receiver_install_key(rx, 60000, 0x14, 0, OTHER_KEY, sizeof OTHER_KEY),
              "install generation 0x14, a minute later");
    {
        /* A decrypt at that time lets the receiver expire what it kept. */
        uint8_t frame[32] = {0x08}, out[32];
        size_t len = 0;
        (void)framecrypt_receiver_decrypt(rx, 60000, NULL, 0, frame, sizeof frame, out,
                                          sizeof out, &len, NULL);
    }
    expect_gone("ratcheting receiver, old generations expired");
    framecrypt_receiver_free(rx);
    expect_gone("ratcheting receiver freed");
}

static void senders(void)
{
    framecrypt_sender *tx = NULL;
    uint8_t frame[64];
    size_t len = 0;

    expect_ok(framecrypt_sender_new(SUITE, KID, BASE_KEY, sizeof BASE_KEY, &tx), "sender");
    expect_installed("sender made");
    expect_ok(framecrypt_sender_encrypt(tx, NULL, 0, BASE_KEY, 4, frame, sizeof frame, &len),
              "encrypt");
    framecrypt_sender_free(tx);
    expect_gone("sender freed");

    tx = NULL;
    expect_ok(framecrypt_sender_resume_ratcheting(SUITE, 4, 0x12, 3, BASE_KEY, sizeof BASE_KEY, 0,
                                                  &tx),
              "ratcheting sender at KID 0x123");
    expect_installed("ratcheting sender made");
    expect_ok(framecrypt_sender_rekey(tx, OTHER_KEY, sizeof OTHER_KEY), "rekey");
    expect_gone("ratcheting sender rekeyed");
    framecrypt_sender_free(tx);
}

int main(void)
{
    scanning = 1;
    controls();
    plain_receiver();
    ratcheting_receiver();
    senders();
    scanning = 0;

    if (freed_hits > 0) {
        fprintf(stderr, "FAILED: key material in %u freed block(s)\n", freed_hits);
        failures++;
    }
    if (failures > 0) {
        printf("freed-memory scan: %u FAILED\n", failures);
        return 1;
    }
    printf("freed-memory scan: %lu freed blocks searched, no key material in any; every "
           "removed or replaced key gone from live memory too\n",
           frees);
    return 0;
}
