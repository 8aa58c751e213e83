// XFS: big-endian superblock at 0 ("XFSB"); libblkid's sanity checks guard against a stray
// magic, so the same geometry limits are applied here.
#include "fsmake/probe/prober.hpp"
#include "base/bytes.hpp"

namespace mos::fsmake::probe {
namespace {

struct XfsSuperblockHead {
  be32 magicnum;
  be32 blocksize;
  be64 dblocks;
  be64 rblocks;
  be64 rextents;
  uint8_t uuid[16];  // 0x20
  be64 logstart;
  be64 rootino;
  be64 rbmino;
  be64 rsumino;
  be32 rextsize;     // 0x50
  be32 agblocks;
  be32 agcount;
  be32 rbmblocks;
  be32 logblocks;
  be16 versionnum;   // 0x64
  be16 sectsize;
  be16 inodesize;
  be16 inopblock;
  uint8_t fname[12];  // 0x6c
  uint8_t blocklog;   // 0x78
  uint8_t sectlog;
  uint8_t inodelog;
  uint8_t inopblog;
  uint8_t agblklog;
  uint8_t rextslog;
  uint8_t inprogress;
  uint8_t imax_pct;
};
static_assert(sizeof(XfsSuperblockHead) == 0x80);

bool sane(const XfsSuperblockHead& s) {
  uint32_t blocksize = s.blocksize, sectsize = s.sectsize, inodesize = s.inodesize;
  uint32_t agcount = s.agcount, agblocks = s.agblocks;
  uint64_t dblocks = s.dblocks;
  uint32_t rtext_bytes = s.rextsize.get() * blocksize;  // 32-bit product, as libblkid
  if (agcount == 0) return false;
  if (sectsize < 512 || sectsize > 32768 || s.sectlog < 9 || s.sectlog > 15 ||
      sectsize != (1u << s.sectlog))
    return false;
  if (blocksize < 512 || blocksize > 65536 || s.blocklog < 9 || s.blocklog > 16 ||
      blocksize != (1u << s.blocklog))
    return false;
  if (inodesize < 256 || inodesize > 2048 || s.inodelog < 8 || s.inodelog > 11 ||
      inodesize != (1u << s.inodelog))
    return false;
  if (int{s.blocklog} - int{s.inodelog} != int{s.inopblog}) return false;
  if (rtext_bytes > 1024u * 1024 * 1024 || rtext_bytes < 4096) return false;
  if (s.imax_pct > 100) return false;
  if (dblocks == 0 || dblocks > uint64_t{agcount} * agblocks ||
      dblocks < uint64_t{agcount - 1} * agblocks + 64)
    return false;
  return true;
}

bool probe_xfs(ProbeSource& src, uint64_t, Found& out) {
  auto b = src.get(0, sizeof(XfsSuperblockHead));
  if (b.empty()) return false;
  const auto& sb = *reinterpret_cast<const XfsSuperblockHead*>(b.data());
  if (!sane(sb)) return false;
  out.label = label_text(sb.fname);
  out.uuid = uuid_text(sb.uuid);
  return true;
}

constexpr Magic kMagics[] = {{"XFSB", 0}};

}  // namespace

extern constinit const Prober kXfs{"xfs", "filesystem", 0, kMagics, probe_xfs};

}  // namespace mos::fsmake::probe
