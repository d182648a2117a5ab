/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* The C API in one page: a sender encrypts a frame, an SFU reads its
 * header without a key, a receiver decrypts it, and a forged frame and a
 * replayed one are refused. ffi/README.md shows the same calls; CI builds
 * it against the installed library with pkg-config and runs it. */
#include <stdio.h>
#include <string.h>

#include "framecrypt.h"

#define SUITE FRAMECRYPT_SUITE_AES_128_GCM_SHA256_128

static int fail(const char *what, framecrypt_result r) {
  fprintf(stderr, "%s: %s\n", what, framecrypt_result_message(r));
  return 1;
}

int main(void) {
  uint8_t key[16] = {0x42}; /* from MLS or your key exchange */
  framecrypt_sender *tx = NULL;
  framecrypt_receiver *rx = NULL;
  framecrypt_result r;
  int status = 1;

  if ((r = framecrypt_sender_new(SUITE, 7, key, sizeof key, &tx)) != FRAMECRYPT_OK) {
    return fail("sender", r);
  }
  if ((r = framecrypt_receiver_new(&rx)) != FRAMECRYPT_OK ||
      (r = framecrypt_receiver_add_key(rx, SUITE, 7, key, sizeof key)) != FRAMECRYPT_OK) {
    fail("receiver", r);
    goto done;
  }

  /* Encrypt: the exact size comes from the sender. */
  const uint8_t frame[] = "encoded media frame";
  uint8_t wire[64];
  size_t wire_len = 0, needed = 0;
  framecrypt_sender_encrypted_len(tx, sizeof frame, &needed);
  if (needed > sizeof wire) {
    fprintf(stderr, "wire buffer too small: %zu needed\n", needed);
    goto done;
  }
  if ((r = framecrypt_sender_encrypt(tx, NULL, 0, frame, sizeof frame, wire, sizeof wire,
                                     &wire_len)) != FRAMECRYPT_OK) {
    fail("encrypt", r);
    goto done;
  }

  /* What the SFU sees: no key needed. */
  framecrypt_sfu_view view = {.struct_size = sizeof view};
  if ((r = framecrypt_sfu_inspect(FRAMECRYPT_CODEC_UNKNOWN, wire, wire_len, &view)) !=
      FRAMECRYPT_OK) {
    fail("inspect", r);
    goto done;
  }

  /* One flipped bit and the frame is refused, with nothing released. */
  uint8_t out[64];
  size_t out_len = 0;
  framecrypt_header header;
  wire[wire_len - 1] ^= 1;
  framecrypt_result forged = framecrypt_receiver_decrypt(rx, 0, NULL, 0, wire, wire_len, out,
                                                         sizeof out, &out_len, NULL);
  wire[wire_len - 1] ^= 1;
  if (forged != FRAMECRYPT_ERR_AUTHENTICATION_FAILED) {
    fprintf(stderr, "a forged frame was not refused: %s\n", framecrypt_result_message(forged));
    goto done;
  }

  /* Decrypt: the plaintext starts at out[0]. */
  if ((r = framecrypt_receiver_decrypt(rx, 0, NULL, 0, wire, wire_len, out, sizeof out,
                                       &out_len, &header)) != FRAMECRYPT_OK) {
    fail("decrypt", r);
    goto done;
  }
  if (out_len != sizeof frame || memcmp(out, frame, out_len) != 0) {
    fprintf(stderr, "decrypt: wrong plaintext\n");
    goto done;
  }

  /* The same frame again is a replay. */
  r = framecrypt_receiver_decrypt(rx, 0, NULL, 0, wire, wire_len, out, sizeof out, &out_len,
                                  NULL);
  if (r != FRAMECRYPT_ERR_REPLAYED) {
    fprintf(stderr, "a replayed frame was not refused: %s\n", framecrypt_result_message(r));
    goto done;
  }

  printf("framecrypt %s: %zu-byte frame -> %zu bytes on the wire (KID %llu, CTR %llu, "
         "%zu-byte header seen by the SFU) -> decrypted; forged frame: %s; replayed: %s\n",
         framecrypt_version(), sizeof frame, wire_len, (unsigned long long)header.kid,
         (unsigned long long)header.ctr, view.header_len, framecrypt_result_message(forged),
         framecrypt_result_message(r));
  status = 0;

done:
  framecrypt_sender_free(tx); /* wipes the keys */
  framecrypt_receiver_free(rx);
  return status;
}
