// SPDX-License-Identifier: MIT OR Apache-2.0
//
// A C++17 FrameTransformer-style wrapper over the framecrypt C API, shaped
// like libwebrtc's FrameTransformerInterface: an encryptor that protects
// each encoded frame on the encoder thread and a decryptor that restores it
// in place on the decoder thread, while the signalling thread sets keys.
// Written from the header alone; built by CI with nothing but
// `pkg-config --cflags --libs framecrypt`, -Wall -Wextra -Werror and the
// sanitizers, linked shared and static, and run natively and under
// valgrind.

#include <framecrypt.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace e2ee {

// A failed call, with the library's message.
class Error : public std::runtime_error {
 public:
  Error(const char *what, framecrypt_result code)
      : std::runtime_error(std::string(what) + ": " + framecrypt_result_message(code)),
        code_(code) {}
  framecrypt_result code() const { return code_; }

 private:
  framecrypt_result code_;
};

inline void check(framecrypt_result r, const char *what) {
  if (r != FRAMECRYPT_OK) throw Error(what, r);
}

struct SenderDeleter {
  void operator()(framecrypt_sender *s) const { framecrypt_sender_free(s); }
};
struct ReceiverDeleter {
  void operator()(framecrypt_receiver *r) const { framecrypt_receiver_free(r); }
};

// One video track's encoded frames in an RTP-like setting.
struct Frame {
  framecrypt_codec codec;
  std::vector<uint8_t> data;
};

// The sending side: protects each frame of its track. framecrypt senders
// lock themselves, so the encoder thread transforms while the signalling
// thread ratchets (someone joined) or rekeys (someone left).
class Encryptor {
 public:
  Encryptor(framecrypt_suite suite, uint32_t ratchet_bits, uint64_t generation,
            const std::vector<uint8_t> &key) {
    framecrypt_sender *s = nullptr;
    check(framecrypt_sender_new_ratcheting(suite, ratchet_bits, generation, key.data(),
                                           key.size(), &s),
          "sender");
    sender_.reset(s);
  }

  // Encoder thread: replaces the frame's payload with its protected form.
  // The output buffer grows only when a frame needs more than the last.
  void Transform(Frame &frame) {
    size_t len = 0;
    out_.resize(frame.data.size() + 32);  // what a frame usually needs
    framecrypt_result r =
        framecrypt_sender_protect(sender_.get(), frame.codec, FRAMECRYPT_FALLBACK_REJECT,
                                  frame.data.data(), frame.data.size(), out_.data(),
                                  out_.size(), &len, nullptr);
    if (r == FRAMECRYPT_ERR_BUFFER_TOO_SMALL) {
      // `len` is the size needed; the bound always suffices.
      size_t bound = 0;
      check(framecrypt_sender_max_protected_len(sender_.get(), frame.codec, frame.data.size(),
                                                &bound),
            "bound");
      out_.resize(len > bound ? len : bound);
      r = framecrypt_sender_protect(sender_.get(), frame.codec, FRAMECRYPT_FALLBACK_REJECT,
                                    frame.data.data(), frame.data.size(), out_.data(),
                                    out_.size(), &len, nullptr);
    }
    check(r, "protect");
    frame.data.assign(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(len));
  }

  // Signalling thread: a participant joined.
  void OnJoin() { check(framecrypt_sender_ratchet(sender_.get()), "ratchet"); }

  // Signalling thread: the key, generation and step for a joiner.
  std::vector<uint8_t> KeyForJoiner(uint64_t &generation, uint64_t &step) const {
    std::vector<uint8_t> key(FRAMECRYPT_MAX_KEY_LEN);
    size_t len = 0;
    check(framecrypt_sender_current_key(sender_.get(), key.data(), key.size(), &len,
                                        &generation, &step),
          "current key");
    key.resize(len);
    return key;
  }

 private:
  std::unique_ptr<framecrypt_sender, SenderDeleter> sender_;
  std::vector<uint8_t> out_;
};

// The receiving side: restores each frame in place.
class Decryptor {
 public:
  Decryptor(framecrypt_suite suite, uint32_t ratchet_bits) {
    framecrypt_receiver *r = nullptr;
    check(framecrypt_receiver_new_ratcheting(suite, ratchet_bits, &r), "receiver");
    receiver_.reset(r);
  }

  // Signalling thread.
  void SetKey(uint64_t now_ms, uint64_t generation, uint64_t step,
              const std::vector<uint8_t> &key) {
    check(framecrypt_receiver_install_key(receiver_.get(), now_ms, generation, step,
                                          key.data(), key.size()),
          "install key");
  }

  // Decoder thread: true if the frame was restored; false if it must be
  // dropped (forged, replayed, or under a key not installed yet).
  bool Transform(uint64_t now_ms, Frame &frame, framecrypt_result *why = nullptr) {
    size_t len = 0;
    framecrypt_header header{};
    framecrypt_result r = framecrypt_receiver_unprotect_in_place(
        receiver_.get(), now_ms, frame.codec, FRAMECRYPT_FALLBACK_REJECT, frame.data.data(),
        frame.data.size(), &len, &header);
    if (why != nullptr) *why = r;
    if (r != FRAMECRYPT_OK) return false;
    frame.data.resize(len);
    return true;
  }

 private:
  std::unique_ptr<framecrypt_receiver, ReceiverDeleter> receiver_;
};

}  // namespace e2ee

namespace {

// An H.264 access unit: SPS, PPS and an IDR slice of `body` bytes.
e2ee::Frame H264Frame(size_t body, uint8_t seed) {
  std::vector<uint8_t> au = {0, 0, 0, 1, 0x67, 0x42, 0x00, 0x1f, 0,    0,    1,
                             0x68, 0xce, 0x3c, 0x80, 0, 0, 1, 0x65, 0x88, 0x84};
  for (size_t i = 0; i < body; i++) au.push_back(static_cast<uint8_t>(1 + (i * 31 + seed) % 255));
  au.push_back(0x80);
  return {FRAMECRYPT_CODEC_H264, au};
}

// A VP8 interframe: a 3-byte frame tag, then payload.
e2ee::Frame Vp8Frame(size_t body, uint8_t seed) {
  std::vector<uint8_t> f = {0x31, 0x02, 0x00};
  for (size_t i = 0; i < body; i++) f.push_back(static_cast<uint8_t>(i * 7 + seed));
  return {FRAMECRYPT_CODEC_VP8, f};
}

int Fail(const char *what) {
  std::fprintf(stderr, "frame_transformer: %s\n", what);
  return 1;
}

}  // namespace

int main() {
  const framecrypt_suite suite = FRAMECRYPT_SUITE_AES_128_GCM_SHA256_128;
  const std::vector<uint8_t> key(16, 0x5a);
  try {
    e2ee::Encryptor encryptor(suite, 8, 1, key);
    e2ee::Decryptor decryptor(suite, 8);
    decryptor.SetKey(0, 1, 0, key);

    // The encoder thread sends frames while the signalling thread lets two
    // participants join (two ratchet steps); the decoder follows.
    std::vector<e2ee::Frame> sent, protected_frames;
    std::thread encoder([&] {
      for (int i = 0; i < 200; i++) {
        e2ee::Frame f = i % 2 ? Vp8Frame(300 + i, static_cast<uint8_t>(i))
                              : H264Frame(900 + i, static_cast<uint8_t>(i));
        sent.push_back(f);
        encryptor.Transform(f);
        protected_frames.push_back(f);
      }
    });
    std::thread signalling([&] {
      encryptor.OnJoin();
      encryptor.OnJoin();
    });
    encoder.join();
    signalling.join();

    size_t restored = 0;
    for (size_t i = 0; i < protected_frames.size(); i++) {
      e2ee::Frame f = protected_frames[i];
      if (!decryptor.Transform(10, f)) return Fail("a genuine frame was dropped");
      if (f.data != sent[i].data) return Fail("a frame was not restored byte for byte");
      restored++;
    }

    // Dropped frames: a replay, a flipped bit, and a frame for a joiner
    // who has not been given the key.
    e2ee::Frame replay = protected_frames[0];
    framecrypt_result why = FRAMECRYPT_OK;
    if (decryptor.Transform(10, replay, &why) || why != FRAMECRYPT_ERR_REPLAYED)
      return Fail("a replayed frame was accepted");
    e2ee::Frame forged = H264Frame(500, 9);
    encryptor.Transform(forged);
    forged.data.back() ^= 1;
    if (decryptor.Transform(10, forged, &why) || why != FRAMECRYPT_ERR_AUTHENTICATION_FAILED)
      return Fail("a forged frame was accepted");

    // A joiner gets the current key and reads from there on.
    uint64_t generation = 0, step = 0;
    std::vector<uint8_t> joiner_key = encryptor.KeyForJoiner(generation, step);
    e2ee::Decryptor joiner(suite, 8);
    joiner.SetKey(20, generation, step, joiner_key);
    e2ee::Frame next = Vp8Frame(64, 3);
    const std::vector<uint8_t> original = next.data;
    encryptor.Transform(next);
    if (!joiner.Transform(20, next) || next.data != original)
      return Fail("the joiner could not read the next frame");

    // Types keep arguments apart: this does not compile.
    //   framecrypt_sender_protect(s, FRAMECRYPT_FALLBACK_REJECT, FRAMECRYPT_CODEC_H264, ...);

    std::printf("frame_transformer (framecrypt %s, header %d.%d.%d): %zu frames protected "
                "on the encoder thread while 2 participants joined, all restored in place; "
                "replay and forgery dropped; the joiner reads generation %llu step %llu\n",
                framecrypt_version(), FRAMECRYPT_VERSION_MAJOR, FRAMECRYPT_VERSION_MINOR,
                FRAMECRYPT_VERSION_PATCH, restored, static_cast<unsigned long long>(generation),
                static_cast<unsigned long long>(step));
    return 0;
  } catch (const e2ee::Error &e) {
    return Fail(e.what());
  }
}
