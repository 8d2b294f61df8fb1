/*
 * LiME files: records of a 32-byte header {u32 magic 'LiME', u32 version 1,
 * u64 start, u64 end (inclusive), u8 reserved[8]} followed by the
 * end - start + 1 bytes of guest physical memory they describe.
 */
#include "snapshot.h"

static status_t lime_fail(vmi_instance_t vmi, struct snap *s, unsigned rec,
                          uint64_t off, const char *why)
{
    return tvmi_fail(vmi, "%s: LiME: record %u at offset 0x%llx: %s",
                     s->path, rec, (unsigned long long)off, why);
}

status_t snap_parse_lime(vmi_instance_t vmi, struct snap *s)
{
    uint64_t off = 0, prev_end = 0;

    for (unsigned rec = 0; off < s->size; rec++) {
        const unsigned char *h = s->map + off;
        uint64_t start, end, len;

        if (s->size - off < SNAP_LIME_HDR)
            return lime_fail(vmi, s, rec, off, "header truncated");
        if (snap_le32(h) != SNAP_LIME_MAGIC)
            return lime_fail(vmi, s, rec, off, "bad magic (not 'LiME')");
        if (snap_le32(h + 4) != 1)
            return tvmi_fail(vmi, "%s: LiME: record %u: version %u is unknown "
                             "(tinyvmi reads version 1)", s->path, rec,
                             snap_le32(h + 4));
        start = snap_le64(h + 8);
        end = snap_le64(h + 16);
        if (end < start)
            return tvmi_fail(vmi, "%s: LiME: record %u: end 0x%llx is below "
                             "start 0x%llx", s->path, rec,
                             (unsigned long long)end, (unsigned long long)start);
        /* end is inclusive; ~0 would make our exclusive end wrap. */
        if (end == ~0ull)
            return tvmi_fail(vmi, "%s: LiME: record %u: ends at the top of the "
                             "address space (0x%llx), which tinyvmi does not "
                             "support", s->path, rec, (unsigned long long)end);
        len = end - start + 1;
        off += SNAP_LIME_HDR;
        if (!snap_in_file(s->size, off, len))
            return tvmi_fail(vmi, "%s: LiME: record %u: data [0x%llx+0x%llx] "
                             "extends past end of file (size 0x%llx)", s->path,
                             rec, (unsigned long long)off,
                             (unsigned long long)len,
                             (unsigned long long)s->size);
        if (rec && start < prev_end)
            return tvmi_fail(vmi, "%s: LiME: record %u starts at 0x%llx, below "
                             "the end of the record before it (0x%llx): records "
                             "must be ascending and disjoint", s->path, rec,
                             (unsigned long long)start,
                             (unsigned long long)prev_end);
        if (snap_add_range(vmi, s, start, len, off, rec))
            return VMI_FAILURE;
        prev_end = end + 1;
        off += len;
    }
    return VMI_SUCCESS;
}
