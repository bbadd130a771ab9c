"""strpool.py: a pool of NUL-ended strings for the generated C tables
(gen-dict.py, gen-profile.py). Tables hold offsets into the pool, not
pointers: a pointer would need a relocation when the program starts."""


class StringPool:
    def __init__(self):
        self.texts = []
        self.at = {}
        self.size = 0

    def intern(self, text):
        """The offset of text in the pool (added once)."""
        if text not in self.at:
            self.at[text] = self.size
            self.texts.append(text)
            self.size += len(text.encode("utf-8")) + 1
        return self.at[text]

    def c_lines(self, name, comment):
        """The pool as `const char NAME[] = "a\\0" "b\\0" ...;`."""
        out = ["/* %s */" % comment, "const char %s[] =" % name]
        for t in self.texts:
            out.append('\t"%s\\0"' % t.replace("\\", "\\\\").replace('"', '\\"'))
        out.append("\t;")
        return out
