//! One participant of an MLS-keyed SFrame conference: an `openmls` group
//! member plus framecrypt's `EpochManager` (receive) and `MlsSender` (send).
//! Shared by `examples/mls_group.rs` and `tests/mls_openmls.rs`.
#![allow(dead_code)]

use framecrypt::{
    BaseKey, CipherSuite, EpochManager, Error, MlsExporter, MlsSender, Open, OpenAt, Seal,
};
use openmls::prelude::tls_codec::{Deserialize as _, Serialize as _};
use openmls::prelude::*;
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;
use zeroize::Zeroize;

/// The MLS cipher suite of the group (MTI, RFC 9420 §17.1).
pub const MLS_SUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

/// The SFrame cipher suite of the media.
pub const SFRAME_SUITE: CipherSuite = CipherSuite::Aes128GcmSha256_128;

/// `E`: the low 4 bits of the epoch go into the KID.
pub const EPOCH_BITS: u32 = 4;

/// framecrypt's exporter trait over an `openmls` group.
pub struct GroupExporter<'a> {
    pub group: &'a MlsGroup,
    pub provider: &'a OpenMlsRustCrypto,
}

impl MlsExporter for GroupExporter<'_> {
    fn export(&self, label: &str, context: &[u8], len: usize) -> Result<BaseKey, Error> {
        let mut secret = self
            .group
            .export_secret(self.provider.crypto(), label, context, len)
            .map_err(|_| Error::ExportFailed)?;
        let key = BaseKey::new(&secret);
        secret.zeroize();
        key
    }
}

/// A handshake message as it travels: serialized by the sender and parsed
/// by the receiver.
pub fn over_the_wire(message: &MlsMessageOut) -> MlsMessageIn {
    let bytes = message.tls_serialize_detached().expect("serialize");
    MlsMessageIn::tls_deserialize_exact(bytes).expect("parse")
}

/// What processing a handshake message did to a member.
#[derive(Debug, PartialEq, Eq)]
pub enum Processed {
    /// The member moved to this epoch.
    NewEpoch(u64),
    /// The commit removed this member from the group.
    Removed,
}

pub struct Member {
    pub name: &'static str,
    provider: OpenMlsRustCrypto,
    signer: SignatureKeyPair,
    credential: CredentialWithKey,
    pub group: Option<MlsGroup>,
    /// Epochs this member can decrypt: up to 4, 16 sender keys.
    pub epochs: EpochManager<4, 16>,
    pub sender: Option<MlsSender>,
}

fn group_config() -> MlsGroupCreateConfig {
    MlsGroupCreateConfig::builder()
        .ciphersuite(MLS_SUITE)
        .use_ratchet_tree_extension(true)
        .build()
}

impl Member {
    pub fn new(name: &'static str) -> Self {
        let provider = OpenMlsRustCrypto::default();
        let signer = SignatureKeyPair::new(MLS_SUITE.signature_algorithm()).expect("signing key");
        signer.store(provider.storage()).expect("store signing key");
        let credential = CredentialWithKey {
            credential: BasicCredential::new(name.as_bytes().to_vec()).into(),
            signature_key: signer.to_public_vec().into(),
        };
        Self {
            name,
            provider,
            signer,
            credential,
            group: None,
            epochs: EpochManager::new(SFRAME_SUITE, EPOCH_BITS).expect("E = 4"),
            sender: None,
        }
    }

    fn group(&self) -> &MlsGroup {
        self.group.as_ref().expect("member of a group")
    }

    pub fn key_package(&self) -> KeyPackage {
        KeyPackage::builder()
            .build(
                MLS_SUITE,
                &self.provider,
                &self.signer,
                self.credential.clone(),
            )
            .expect("key package")
            .key_package()
            .clone()
    }

    /// The member's leaf index: its MLS sender index.
    pub fn index(&self) -> u32 {
        self.group().own_leaf_index().u32()
    }

    pub fn epoch(&self) -> u64 {
        self.group().epoch().as_u64()
    }

    /// Starts a group with this member alone (epoch 0).
    pub fn create_group(&mut self, now_ms: u64) {
        let group = MlsGroup::new(
            &self.provider,
            &self.signer,
            &group_config(),
            self.credential.clone(),
        )
        .expect("new group");
        self.group = Some(group);
        self.enter_current_epoch(now_ms).expect("epoch 0");
    }

    /// RFC 9605 §5.2 on every epoch change: export the epoch's base key
    /// into the epoch manager and move the sender to it.
    pub fn enter_current_epoch(&mut self, now_ms: u64) -> Result<(), Error> {
        let group = self.group.as_ref().ok_or(Error::ExportFailed)?;
        let epoch = group.epoch().as_u64();
        // S comes from the number of leaves: members keep their index and
        // removed members leave blank leaves behind.
        let leaves = group
            .members()
            .map(|m| u64::from(m.index.u32()) + 1)
            .max()
            .unwrap_or(1);
        let exporter = GroupExporter {
            group,
            provider: &self.provider,
        };
        self.epochs.add_epoch(epoch, leaves, &exporter, now_ms)?;
        let index = u64::from(group.own_leaf_index().u32());
        self.sender
            .get_or_insert_with(|| MlsSender::new(index, 0))
            .enter_epoch(&self.epochs)
    }

    /// Commits the addition of `key_packages`; returns the commit for the
    /// other members and the welcome for the new ones.
    pub fn add(&mut self, key_packages: &[KeyPackage], now_ms: u64) -> (MlsMessageOut, Welcome) {
        let (provider, signer) = (&self.provider, &self.signer);
        let group = self.group.as_mut().expect("member of a group");
        let (commit, welcome, _) = group
            .add_members(provider, signer, key_packages)
            .expect("add members");
        group.merge_pending_commit(provider).expect("merge");
        self.enter_current_epoch(now_ms).expect("new epoch");
        let MlsMessageBodyIn::Welcome(welcome) = over_the_wire(&welcome).extract() else {
            panic!("expected a welcome");
        };
        (commit, welcome)
    }

    /// Commits the removal of the member at `index`.
    pub fn remove(&mut self, index: u32, now_ms: u64) -> MlsMessageOut {
        let (provider, signer) = (&self.provider, &self.signer);
        let group = self.group.as_mut().expect("member of a group");
        let (commit, _, _) = group
            .remove_members(provider, signer, &[LeafNodeIndex::new(index)])
            .expect("remove member");
        group.merge_pending_commit(provider).expect("merge");
        self.enter_current_epoch(now_ms).expect("new epoch");
        commit
    }

    /// Joins from a welcome (the group uses the ratchet-tree extension).
    pub fn join(&mut self, welcome: Welcome, now_ms: u64) {
        let group = StagedWelcome::new_from_welcome(
            &self.provider,
            group_config().join_config(),
            welcome,
            None,
        )
        .expect("staged welcome")
        .into_group(&self.provider)
        .expect("join");
        self.group = Some(group);
        self.enter_current_epoch(now_ms).expect("joined epoch");
    }

    /// Processes another member's commit.
    pub fn process(&mut self, commit: &MlsMessageOut, now_ms: u64) -> Processed {
        let message = over_the_wire(commit)
            .try_into_protocol_message()
            .expect("a protocol message");
        let provider = &self.provider;
        let group = self.group.as_mut().expect("member of a group");
        let processed = group.process_message(provider, message).expect("process");
        let ProcessedMessageContent::StagedCommitMessage(staged) = processed.into_content() else {
            panic!("expected a commit");
        };
        group
            .merge_staged_commit(provider, *staged)
            .expect("merge commit");
        if !group.is_active() {
            return Processed::Removed;
        }
        self.enter_current_epoch(now_ms).expect("new epoch");
        Processed::NewEpoch(self.epoch())
    }

    /// Encrypts a media frame under the newest epoch.
    pub fn send(&mut self, text: &str) -> Vec<u8> {
        let sender = self.sender.as_mut().expect("in an epoch");
        let mut frame = vec![0; sender.next_frame_len(text.len()).expect("epoch")];
        let len = sender
            .seal(b"", text.as_bytes(), &mut frame)
            .expect("encrypt")
            .len();
        frame.truncate(len);
        frame
    }

    /// Decrypts a media frame.
    pub fn receive(&mut self, now_ms: u64, frame: &[u8]) -> Result<String, Error> {
        let mut out = vec![0; frame.len()];
        let decrypted = self.epochs.at(now_ms).open(b"", frame, &mut out)?;
        Ok(String::from_utf8_lossy(&out[decrypted.plaintext()]).into_owned())
    }
}
