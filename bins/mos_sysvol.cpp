// mos_sysvol: boot-time oneshot. Provisioning arrives with its own issue; until then this
// static binary states its role so the initramfs wiring can be tested.
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc > 1 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::puts("usage: mos_sysvol [--help]");
  }
  std::puts(
      "mos_sysvol: boot-time storage provisioning for MOS nodes (planned).\n"
      "  first boot: partition empty disks (GPT), create FAT32/ext4/swap/btrfs natively,\n"
      "              RAID1 on dual-disk nodes, create subvolumes and mount them;\n"
      "  later boots: assemble and mount what carries the MOS labels.\n"
      "Not implemented yet: this build only reports its role.");
  return 0;
}
