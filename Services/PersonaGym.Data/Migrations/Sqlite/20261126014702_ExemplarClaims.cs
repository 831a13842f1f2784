using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace PersonaGym.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class ExemplarClaims : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "ExemplarClaims",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    BatchId = table.Column<Guid>(type: "TEXT", nullable: false),
                    WriterSpec = table.Column<string>(type: "TEXT", maxLength: 400, nullable: false),
                    RubricVersion = table.Column<string>(type: "TEXT", maxLength: 100, nullable: false),
                    ClaimedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ExemplarClaims", x => x.Id);
                    table.ForeignKey(
                        name: "FK_ExemplarClaims_QuestionBatches_BatchId",
                        column: x => x.BatchId,
                        principalTable: "QuestionBatches",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_ExemplarClaims_BatchId_WriterSpec_RubricVersion",
                table: "ExemplarClaims",
                columns: new[] { "BatchId", "WriterSpec", "RubricVersion" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "ExemplarClaims");
        }
    }
}
