#include "engine/modules.hpp"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "base/error.hpp"
#include "ioctl/fd.hpp"

namespace mos::engine {

namespace {

constexpr size_t kMaxDepth = 64;      // real kernels chain < 10 deep; the files are not trusted
constexpr size_t kMaxSteps = 100000;  // a distribution kernel has ~6000 modules

// The whole file in one read; empty when it does not exist (optional index files).
std::string read_optional_file(const std::string& path) {
  int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) {
    if (errno == ENOENT) return {};
    throw_sys("open", path, errno);
  }
  io::Fd fd(raw, path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_sys("fstat", path, errno);
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t got = fd.pread_some(text.data(), text.size(), 0);
  text.resize(got);
  return text;
}

template <typename F>
void for_each_line(std::string_view text, F&& on_line) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    on_line(text.substr(pos, eol - pos));
    pos = eol + 1;
  }
}

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  size_t pos = 0;
  while (pos < line.size()) {
    size_t start = line.find_first_not_of(" \t\r", pos);
    if (start == std::string_view::npos) break;
    size_t end = line.find_first_of(" \t\r", start);
    if (end == std::string_view::npos) end = line.size();
    words.push_back(line.substr(start, end - start));
    pos = end;
  }
  return words;
}

// Like module names, alias patterns treat '-' as '_' except inside [...] character classes.
std::string normalize_alias(std::string_view alias) {
  std::string out(alias);
  bool in_class = false;
  for (char& c : out) {
    if (c == '[') in_class = true;
    else if (c == ']') in_class = false;
    else if (c == '-' && !in_class) c = '_';
  }
  return out;
}

// Does an alias pattern of modules.alias match a normalized name? The literal prefix is compared
// in place ('-' as '_'), so the ~26000 device patterns cost no allocation; fnmatch only when a
// pattern's literal prefix matches.
bool alias_matches(std::string_view pattern, const std::string& name) {
  size_t i = 0;
  for (; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '*' || c == '?' || c == '[') break;
    if (i >= name.size() || (c == '-' ? '_' : c) != name[i]) return false;
  }
  if (i == pattern.size()) return i == name.size();
  return ::fnmatch(normalize_alias(pattern).c_str(), name.c_str(), 0) == 0;
}

bool is_success(const std::string& status) {
  return status == "loaded" || status == "already" || status == "builtin";
}

}  // namespace

std::string normalize_module_name(std::string name) {
  for (char& c : name)
    if (c == '-') c = '_';
  return name;
}

std::string module_name_from_path(const std::string& path) {
  std::string_view base = path;
  if (size_t slash = base.rfind('/'); slash != std::string_view::npos) base.remove_prefix(slash + 1);
  if (size_t ko = base.find(".ko"); ko != std::string_view::npos) base = base.substr(0, ko);
  return normalize_module_name(std::string(base));
}

std::string default_modules_dir() {
  struct utsname u {};
  if (::uname(&u) != 0) throw_sys("uname", "", errno);
  return std::string("/lib/modules/") + u.release;
}

struct ModuleIndex::Impl {
  struct Entry {
    std::string_view path;  // as written in modules.dep (relative to dir, or absolute)
    std::string_view deps;  // the rest of the line
  };
  struct Softdeps {
    std::vector<std::string> pre, post;
  };

  std::string dir;
  std::string dep_text;  // the views in `modules` point into it
  std::unordered_map<std::string, Entry> modules;
  std::unordered_set<std::string> builtin;
  std::unordered_map<std::string, Softdeps> softdeps;

  // Read at the first alias lookup only: most boots need a handful of aliases at most.
  bool alias_files_read = false;
  std::string alias_text;
  std::string builtin_modinfo;
  std::vector<std::pair<std::string_view, std::string_view>> aliases;  // (pattern, module), file order
  std::unordered_map<std::string, std::vector<std::string>> alias_memo;

  explicit Impl(const std::string& modules_dir) : dir(modules_dir) {
    dep_text = read_optional_file(dir + "/modules.dep");
    if (dep_text.empty() && ::access((dir + "/modules.dep").c_str(), F_OK) != 0)
      throw Error(ErrorCode::not_found,
                  "modules directory " + dir + " has no modules.dep (run depmod, or ship it)", dir);
    for_each_line(dep_text, [&](std::string_view line) {
      size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) return;
      std::string_view path = line.substr(0, colon);
      modules.emplace(module_name_from_path(std::string(path)), Entry{path, line.substr(colon + 1)});
    });
    for_each_line(read_optional_file(dir + "/modules.builtin"), [&](std::string_view line) {
      auto words = split_words(line);
      if (!words.empty()) builtin.insert(module_name_from_path(std::string(words[0])));
    });
    // Every softdep line counts (modprobe keeps only the first one per module, which would drop
    // btrfs's sha256/xxhash64/crc32c lines). Words before "pre:"/"post:" are ignored, as kmod does.
    for_each_line(read_optional_file(dir + "/modules.softdep"), [&](std::string_view line) {
      auto words = split_words(line);
      if (words.size() < 3 || words[0] != "softdep" || words[1].starts_with("#")) return;
      Softdeps& sd = softdeps[normalize_module_name(std::string(words[1]))];
      std::vector<std::string>* into = nullptr;
      for (size_t i = 2; i < words.size(); ++i) {
        if (words[i] == "pre:") into = &sd.pre;
        else if (words[i] == "post:") into = &sd.post;
        else if (into) into->push_back(normalize_module_name(std::string(words[i])));
      }
    });
  }

  std::string full_path(std::string_view path) const {
    if (path.starts_with("/")) return std::string(path);
    return dir + "/" + std::string(path);
  }

  // modules.dep lists the whole closure, last to load first.
  std::vector<std::string> hard_deps(const Entry& e) const {
    std::vector<std::string> names;
    for (std::string_view w : split_words(e.deps)) names.push_back(module_name_from_path(std::string(w)));
    return {names.rbegin(), names.rend()};
  }

  void read_alias_files() {
    if (alias_files_read) return;
    alias_files_read = true;
    alias_text = read_optional_file(dir + "/modules.alias");
    builtin_modinfo = read_optional_file(dir + "/modules.builtin.modinfo");
    // One pass, no copies: "alias PATTERN MODULE" lines as views into alias_text.
    for_each_line(alias_text, [&](std::string_view line) {
      if (!line.starts_with("alias ")) return;
      line.remove_prefix(6);
      size_t sp = line.find(' ');
      if (sp == std::string_view::npos || sp == 0) return;
      std::string_view module = line.substr(sp + 1);
      module = module.substr(0, module.find_first_of(" \t\r"));
      if (!module.empty()) aliases.push_back({line.substr(0, sp), module});
    });
  }

  // Modules whose alias matches `name` (normalized), in file order, without repeats.
  const std::vector<std::string>& alias_candidates(const std::string& name) {
    if (auto it = alias_memo.find(name); it != alias_memo.end()) return it->second;
    read_alias_files();
    std::vector<std::string> found;
    for (const auto& [pattern, module_view] : aliases) {
      if (!alias_matches(pattern, name)) continue;
      std::string module = normalize_module_name(std::string(module_view));
      if (std::find(found.begin(), found.end(), module) == found.end()) found.push_back(std::move(module));
    }
    return alias_memo.emplace(name, std::move(found)).first->second;
  }

  // modules.builtin.modinfo: NUL-separated "module.key=value" records.
  std::string builtin_providing(const std::string& alias) {
    read_alias_files();
    std::string_view text = builtin_modinfo;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\0', pos);
      if (end == std::string_view::npos) end = text.size();
      std::string_view rec = text.substr(pos, end - pos);
      pos = end + 1;
      size_t key = rec.find(".alias=");
      if (key == std::string_view::npos) continue;
      if (normalize_alias(rec.substr(key + 7)) == alias) return std::string(rec.substr(0, key));
    }
    return {};
  }
};

ModuleIndex::ModuleIndex(const std::string& modules_dir)
    : impl_(std::make_unique<Impl>(modules_dir.empty() ? default_modules_dir() : modules_dir)) {}
ModuleIndex::~ModuleIndex() = default;
const std::string& ModuleIndex::dir() const { return impl_->dir; }

namespace {

struct Outcome {
  std::string status;  // loaded|already|builtin|missing|failed, or "resolved" when not loading
  std::string detail;
};

// One walk over the dependency graph with an explicit stack (the files decide the depth, so no
// recursion). Resolve mode collects files; load mode inserts them and records outcomes.
class Walker {
 public:
  Walker(ModuleIndex::Impl& index, const ModuleInserter* insert,
         const std::vector<std::string>& loaded)
      : index_(index), insert_(insert), loaded_(loaded.begin(), loaded.end()) {}

  Outcome require(const std::string& requested) {
    std::string key = normalize_alias(requested);
    push_lookup(key);
    run();
    auto it = lookups_.find(key);
    if (it != lookups_.end()) return it->second;
    return {"failed", "resolution of " + requested + " did not finish"};
  }

  std::vector<std::string> files;  // load order (resolve mode)

 private:
  struct Frame {
    Frame(bool is_lookup, std::string n) : lookup(is_lookup), name(std::move(n)) {}
    bool lookup = false;
    std::string name;
    int phase = 0;
    std::vector<std::pair<bool, std::string>> children;  // (is lookup, name)
    size_t next = 0;
    std::string path;
    std::vector<std::string> hard;
  };

  bool loading() const { return insert_ != nullptr; }

  void push_lookup(const std::string& name) { push(true, name); }
  void push_module(const std::string& name) { push(false, name); }

  // Starts resolving a lookup or a module unless it is done or already on the stack (a cycle).
  void push(bool lookup, const std::string& name) {
    auto& done = lookup ? lookups_ : modules_;
    auto& visiting = lookup ? visiting_lookups_ : visiting_modules_;
    if (done.count(name) || visiting.count(name)) return;
    if (stack_.size() >= kMaxDepth) {
      done[name] = {"failed", "dependency chain deeper than " + std::to_string(kMaxDepth) + " levels at " +
                                  name + " in " + index_.dir};
      return;
    }
    visiting.insert(name);
    stack_.emplace_back(lookup, name);
  }

  void finish(Outcome outcome) {
    Frame& f = stack_.back();
    if (f.lookup) {
      visiting_lookups_.erase(f.name);
      lookups_[f.name] = std::move(outcome);
    } else {
      visiting_modules_.erase(f.name);
      modules_[f.name] = std::move(outcome);
    }
    stack_.pop_back();
  }

  void run() {
    while (!stack_.empty()) {
      if (++steps_ > kMaxSteps) {
        while (!stack_.empty())
          finish({"failed", "module resolution in " + index_.dir + " exceeded " +
                                std::to_string(kMaxSteps) + " steps"});
        return;
      }
      if (stack_.back().lookup) step_lookup();
      else step_module();
    }
  }

  // Starts the next child of the top frame; false when there is none left.
  bool push_next_child() {
    Frame& f = stack_.back();
    if (f.next >= f.children.size()) return false;
    auto [is_lookup, name] = f.children[f.next++];
    if (is_lookup) push_lookup(name);
    else push_module(name);
    return true;
  }

  void step_lookup() {
    Frame& f = stack_.back();
    if (f.phase == 0) {
      f.phase = 1;
      std::string module = normalize_module_name(f.name);
      if (index_.modules.count(module)) {
        f.children.push_back({false, module});
      } else if (index_.builtin.count(module)) {
        return finish({"builtin", module + " is built into the kernel"});
      } else {
        for (const auto& m : index_.alias_candidates(f.name)) stack_.back().children.push_back({false, m});
      }
      if (stack_.back().children.empty()) {
        std::string provider = index_.builtin_providing(stack_.back().name);
        if (!provider.empty()) return finish({"builtin", "provided by built-in " + provider});
        return finish({"missing", "no module, built-in or alias named " + stack_.back().name +
                                      " in " + index_.dir});
      }
    }
    Frame& g = stack_.back();
    // Alias candidates are tried in file order until one loads (resolve mode lists them all).
    if (loading() && g.next > 0) {
      auto it = modules_.find(g.children[g.next - 1].second);
      if (it != modules_.end() && is_success(it->second.status)) return finish(it->second);
    }
    if (push_next_child()) return;
    finish(lookup_outcome(g));
  }

  Outcome lookup_outcome(const Frame& f) {
    if (!loading()) return {"resolved", ""};
    std::string errors;
    bool all_missing = true;
    for (const auto& [unused, name] : f.children) {
      auto it = modules_.find(name);
      if (it == modules_.end()) continue;
      if (it->second.status != "missing") all_missing = false;
      errors += (errors.empty() ? "" : "; ") + it->second.detail;
    }
    // e.g. sha256: the SSSE3 module fails on a CPU without it, the generic one is built in.
    std::string provider = index_.builtin_providing(f.name);
    if (!provider.empty()) return {"builtin", "provided by built-in " + provider};
    return {all_missing ? "missing" : "failed", errors};
  }

  void step_module() {
    Frame& f = stack_.back();
    if (f.phase == 0) {
      if (loading() && loaded_.count(f.name)) return finish({"already", f.name + " is already loaded"});
      auto it = index_.modules.find(f.name);
      if (it == index_.modules.end()) {
        if (index_.builtin.count(f.name)) return finish({"builtin", f.name + " is built into the kernel"});
        return finish({"missing", f.name + " is needed but has no entry in " + index_.dir + "/modules.dep"});
      }
      f.path = index_.full_path(it->second.path);
      f.hard = index_.hard_deps(it->second);
      for (const auto& h : f.hard) f.children.push_back({false, h});
      if (auto sd = index_.softdeps.find(f.name); sd != index_.softdeps.end())
        for (const auto& p : sd->second.pre) f.children.push_back({true, p});
      f.phase = 1;
    }
    if (f.phase == 1) {
      if (push_next_child()) return;
      Frame& g = stack_.back();
      Outcome outcome = emit(g);
      modules_[g.name] = outcome;  // visible to post softdeps that point back at us
      g.children.clear();
      g.next = 0;
      if (auto sd = index_.softdeps.find(g.name); sd != index_.softdeps.end())
        for (const auto& p : sd->second.post) g.children.push_back({true, p});
      g.phase = 2;
    }
    if (push_next_child()) return;
    Outcome outcome = modules_[stack_.back().name];
    finish(std::move(outcome));
  }

  Outcome emit(const Frame& f) {
    if (!loading()) {
      files.push_back(f.path);
      return {"resolved", f.path};
    }
    for (const auto& dep : f.hard) {
      auto it = modules_.find(dep);
      if (it != modules_.end() && !is_success(it->second.status))
        return {"failed", f.name + " needs " + dep + ": " + it->second.detail};
    }
    if (::access(f.path.c_str(), F_OK) != 0)
      return {"missing", "module file " + f.path + " not found"};
    try {
      io::ModuleInsert r = (*insert_)(f.path);
      if (r == io::ModuleInsert::already_loaded) return {"already", f.path};
      return {"loaded", f.path};
    } catch (const Error& e) {
      return {"failed", e.what()};
    }
  }

  ModuleIndex::Impl& index_;
  const ModuleInserter* insert_;
  std::unordered_set<std::string> loaded_;
  std::vector<Frame> stack_;
  std::unordered_map<std::string, Outcome> modules_;
  std::unordered_map<std::string, Outcome> lookups_;
  std::unordered_set<std::string> visiting_modules_, visiting_lookups_;
  size_t steps_ = 0;
};

}  // namespace

std::vector<ModuleLoadResult> load_modules_with(const ModuleIndex& index,
                                                const std::vector<std::string>& names,
                                                const std::vector<std::string>& loaded,
                                                const ModuleInserter& insert) {
  Walker walker(index.impl(), &insert, loaded);
  std::vector<ModuleLoadResult> results;
  for (const auto& name : names) {
    Outcome o = walker.require(name);
    results.push_back({name, o.status, o.detail});
  }
  return results;
}

std::vector<std::string> resolve_modules_with(const ModuleIndex& index,
                                              const std::vector<std::string>& names) {
  Walker walker(index.impl(), nullptr, {});
  for (const auto& name : names) {
    Outcome o = walker.require(name);
    if (o.status == "missing" || o.status == "failed")
      throw Error(ErrorCode::not_found, "cannot resolve module " + name + ": " + o.detail, index.dir());
  }
  return walker.files;
}

std::vector<ModuleLoadResult> load_modules(const std::vector<std::string>& names,
                                           const std::string& modules_dir) {
  std::unique_ptr<ModuleIndex> index;
  try {
    index = std::make_unique<ModuleIndex>(modules_dir);
  } catch (const Error& e) {
    std::vector<ModuleLoadResult> results;
    for (const auto& name : names) results.push_back({name, "missing", e.what()});
    return results;
  }
  ModuleInserter insert = [](const std::string& path) { return io::insert_module_file(path); };
  return load_modules_with(*index, names, io::read_loaded_modules(), insert);
}

std::vector<std::string> resolve_modules(const std::vector<std::string>& names,
                                         const std::string& modules_dir) {
  ModuleIndex index(modules_dir);
  return resolve_modules_with(index, names);
}

}  // namespace mos::engine
