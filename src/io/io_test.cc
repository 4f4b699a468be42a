#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

#include "io/env.h"
#include "io/fault_env.h"

namespace ca::io {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "ca_io_test_XXXXXX";
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string& path() const { return path_; }
  std::string operator/(std::string_view name) const { return JoinPath(path_, name); }

 private:
  std::string path_;
};

std::string Slurp(Env* env, const std::string& path) {
  auto r = ReadFileToString(env, path);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::string();
}

TEST(PosixEnvTest, WriteAppendTruncateRead) {
  TempDir dir;
  Env* env = Env::Default();
  const std::string path = dir / "f";
  {
    auto f = env->NewWritableFile(path, /*append=*/false);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append("hello ").ok());
    ASSERT_TRUE((*f)->Append("world").ok());
    EXPECT_EQ((*f)->Size(), 11u);
    ASSERT_TRUE((*f)->Sync().ok());
    ASSERT_TRUE((*f)->Truncate(5).ok());
    ASSERT_TRUE((*f)->Append("!").ok());
    EXPECT_EQ((*f)->Size(), 6u);
    ASSERT_TRUE((*f)->Close().ok());
  }
  EXPECT_EQ(Slurp(env, path), "hello!");
  {
    auto f = env->NewWritableFile(path, /*append=*/true);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ((*f)->Size(), 6u);
    ASSERT_TRUE((*f)->Append("?").ok());
  }
  EXPECT_EQ(Slurp(env, path), "hello!?");
  auto size = env->GetFileSize(path);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 7u);

  auto raf = env->NewRandomAccessFile(path);
  ASSERT_TRUE(raf.ok());
  char buf[16];
  auto got = (*raf)->Read(3, 10, buf);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "lo!?");

  ASSERT_TRUE(env->TruncateFile(path, 2).ok());
  EXPECT_EQ(Slurp(env, path), "he");
  {
    auto f = env->NewWritableFile(path, /*append=*/false);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ((*f)->Size(), 0u);
  }
  EXPECT_EQ(Slurp(env, path), "");
}

TEST(PosixEnvTest, DirectoriesRenameRemove) {
  TempDir dir;
  Env* env = Env::Default();
  const std::string nested = dir / "a/b/c";
  ASSERT_TRUE(env->CreateDirs(nested).ok());
  ASSERT_TRUE(env->CreateDirs(nested).ok());
  ASSERT_TRUE(WriteFileAtomically(env, JoinPath(nested, "z"), "1").ok());
  ASSERT_TRUE(WriteFileAtomically(env, JoinPath(nested, "y"), "2").ok());
  ASSERT_TRUE(WriteFileAtomically(env, JoinPath(nested, "y"), "3").ok());
  auto kids = env->GetChildren(nested);
  ASSERT_TRUE(kids.ok());
  EXPECT_EQ(*kids, (std::vector<std::string>{"y", "z"}));  // sorted, no temporary left
  EXPECT_EQ(Slurp(env, JoinPath(nested, "y")), "3");

  ASSERT_TRUE(env->RenameFile(JoinPath(nested, "y"), JoinPath(nested, "x")).ok());
  EXPECT_FALSE(env->FileExists(JoinPath(nested, "y")));
  EXPECT_TRUE(env->FileExists(JoinPath(nested, "x")));
  ASSERT_TRUE(env->RemoveFile(JoinPath(nested, "x")).ok());
  EXPECT_EQ(env->RemoveFile(JoinPath(nested, "x")).code(), ErrorCode::kNotFound);
  EXPECT_TRUE(env->SyncDir(nested).ok());
  EXPECT_EQ(env->GetChildren(dir / "missing").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(env->NewRandomAccessFile(dir / "missing").status().code(), ErrorCode::kNotFound);
}

TEST(PosixEnvTest, ErrorsNameThePath) {
  TempDir dir;
  Env* env = Env::Default();
  const std::string path = dir / "no/such/dir/f";
  auto f = env->NewWritableFile(path, false);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), ErrorCode::kIoError);
  EXPECT_NE(f.status().message().find(path), std::string_view::npos);
  EXPECT_EQ(env->SyncDir(dir / "nodir").code(), ErrorCode::kIoError);
}

TEST(PosixEnvTest, LockFileIsExclusive) {
  TempDir dir;
  Env* env = Env::Default();
  auto lock = env->LockFile(dir / "LOCK");
  ASSERT_TRUE(lock.ok());
  auto again = env->LockFile(dir / "LOCK");
  EXPECT_EQ(again.status().code(), ErrorCode::kLocked);
  lock->reset();
  auto third = env->LockFile(dir / "LOCK");
  EXPECT_TRUE(third.ok());
}

TEST(PathTest, DirNameAndJoinPath) {
  EXPECT_EQ(DirName("a/b/c"), "a/b");
  EXPECT_EQ(DirName("/x"), "/");
  EXPECT_EQ(DirName("x"), ".");
  EXPECT_EQ(JoinPath("a", "b"), "a/b");
  EXPECT_EQ(JoinPath("a/", "b"), "a/b");
  EXPECT_EQ(JoinPath("", "b"), "b");
}

TEST(FaultInjectionEnvTest, FailsNthAppendOnlyOnce) {
  TempDir dir;
  FaultInjectionEnv env(Env::Default());
  auto f = env.NewWritableFile(dir / "f", false);
  ASSERT_TRUE(f.ok());
  env.Arm(FaultOp::kAppend, 2, FaultKind::kDiskFull);
  EXPECT_TRUE((*f)->Append("a").ok());
  Status s = (*f)->Append("b");
  EXPECT_EQ(s.code(), ErrorCode::kDiskFull);
  EXPECT_TRUE((*f)->Append("c").ok());
  EXPECT_EQ(env.Count(FaultOp::kAppend), 3u);
  EXPECT_EQ(env.InjectedFaults(), 1u);
  EXPECT_EQ(Slurp(&env, dir / "f"), "ac");
}

TEST(FaultInjectionEnvTest, StickyFaultsAndPartialWrites) {
  TempDir dir;
  FaultInjectionEnv env(Env::Default());
  auto f = env.NewWritableFile(dir / "f", false);
  ASSERT_TRUE(f.ok());
  env.Arm(FaultOp::kAppend, 1, FaultKind::kIoError, /*sticky=*/true, /*partial_bytes=*/3);
  EXPECT_EQ((*f)->Append("12345").code(), ErrorCode::kIoError);
  EXPECT_EQ((*f)->Append("67").code(), ErrorCode::kIoError);
  EXPECT_EQ(Slurp(&env, dir / "f"), "12367");  // a prefix of each failed append landed
  env.Arm(FaultOp::kSync, 1, FaultKind::kIoError, /*sticky=*/true);
  EXPECT_EQ((*f)->Sync().code(), ErrorCode::kIoError);
  env.Disarm();
  EXPECT_TRUE((*f)->Append("8").ok());
  EXPECT_TRUE((*f)->Sync().ok());
}

TEST(FaultInjectionEnvTest, FailsRenameCreateTruncateSyncDir) {
  TempDir dir;
  FaultInjectionEnv env(Env::Default());
  ASSERT_TRUE(WriteFileAtomically(&env, dir / "a", "x").ok());
  env.Arm(FaultOp::kRename, 1, FaultKind::kDiskFull);
  EXPECT_EQ(WriteFileAtomically(&env, dir / "a", "y").code(), ErrorCode::kDiskFull);
  EXPECT_EQ(Slurp(&env, dir / "a"), "x");
  EXPECT_FALSE(env.FileExists(dir / "a.tmp"));
  env.Arm(FaultOp::kCreate, 1, FaultKind::kIoError);
  EXPECT_EQ(env.NewWritableFile(dir / "b", false).status().code(), ErrorCode::kIoError);
  env.Arm(FaultOp::kTruncate, 1, FaultKind::kIoError);
  EXPECT_EQ(env.TruncateFile(dir / "a", 0).code(), ErrorCode::kIoError);
  env.Arm(FaultOp::kSyncDir, 1, FaultKind::kIoError);
  EXPECT_EQ(env.SyncDir(dir.path()).code(), ErrorCode::kIoError);
  env.Arm(FaultOp::kRemove, 1, FaultKind::kIoError);
  EXPECT_EQ(env.RemoveFile(dir / "a").code(), ErrorCode::kIoError);
  EXPECT_TRUE(env.FileExists(dir / "a"));
}

TEST(FaultInjectionEnvTest, SimulateCrashDropsUnsyncedData) {
  TempDir dir;
  FaultInjectionEnv env(Env::Default());
  auto f = env.NewWritableFile(dir / "tmp", false);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("durable").ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Append("-lost").ok());
  ASSERT_TRUE(env.RenameFile(dir / "tmp", dir / "f").ok());  // tracking follows the rename
  auto g = env.NewWritableFile(dir / "never_synced", false);
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE((*g)->Append("gone").ok());

  env.SimulateCrash();
  EXPECT_EQ(Slurp(&env, dir / "f"), "durable");
  EXPECT_EQ(Slurp(&env, dir / "never_synced"), "");
  EXPECT_EQ((*f)->Append("x").code(), ErrorCode::kIoError);
  EXPECT_EQ((*f)->Sync().code(), ErrorCode::kIoError);
  EXPECT_EQ(env.NewWritableFile(dir / "c", false).status().code(), ErrorCode::kIoError);
  env.Disarm();
  auto h = env.NewWritableFile(dir / "f", /*append=*/true);
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE((*h)->Append("+").ok());
  EXPECT_EQ(Slurp(&env, dir / "f"), "durable+");
}

}  // namespace
}  // namespace ca::io
